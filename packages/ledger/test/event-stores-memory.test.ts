import { MemoryEventStore } from '@omt/ledger/event-store-memory';
import { eventStoreContract, voteLogContract, witnessStoreContract } from '@omt/ledger/testing/event-stores';
import { MemoryVoteLog } from '@omt/ledger/vote-log-memory';
import { MemoryWitnessStore } from '@omt/ledger/witness-store-memory';

eventStoreContract('MemoryEventStore', async () => ({ store: new MemoryEventStore() }));
voteLogContract('MemoryVoteLog', async () => ({ store: new MemoryVoteLog() }));
witnessStoreContract('MemoryWitnessStore', async () => ({ store: new MemoryWitnessStore() }));
