-- The newest fencing token recorded for each partition (issue #12, DESIGN.md "Scale beyond one
-- machine"). A node that acquires a partition's lease records its token here before it starts the
-- partition's actors; every store write made for a partition checks, in its own transaction, that
-- no newer token has been recorded, and is refused otherwise. Tokens only grow. A partition with
-- no row has only ever been written with token 0 (a single node).
CREATE TABLE partition_fences (
    partition_id INTEGER PRIMARY KEY NOT NULL,
    token BIGINT NOT NULL,
    node_id INTEGER NOT NULL,
    updated_ms BIGINT NOT NULL
);
