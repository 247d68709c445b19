DROP TABLE parking_tariffs;
DROP TABLE parking_payments;
DROP TABLE parking_sessions;
