DROP TABLE dispatch_records;
DROP TABLE dispatch_curb_slots;
DROP TABLE dispatch_terminals;
DROP TABLE taxis;
