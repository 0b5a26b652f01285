// These tests start processes and bind ports: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
