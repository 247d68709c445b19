DROP TABLE partition_fences;
