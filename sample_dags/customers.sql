-- Seed for the stand-in source database that etl_pipeline's ingest_db task reads.
-- Rebuilt from scratch on every run, so running it twice is harmless.
DROP TABLE IF EXISTS customers;
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL
);
INSERT INTO customers (customer_id, name, country) VALUES
    (1, 'Ada Lovelace', 'GB'),
    (2, 'Grace Hopper', 'US'),
    (3, 'Katherine Johnson', 'US'),
    (4, 'Alan Turing', 'GB');
