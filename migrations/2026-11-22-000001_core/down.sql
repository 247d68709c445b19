DROP TABLE audit_log;
DROP TABLE commands;
DROP TABLE alerts;
DROP TABLE device_transitions;
DROP TABLE devices;
DROP TABLE clients;
DROP TABLE users;
DROP TABLE settings;
