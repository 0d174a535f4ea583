-- What the shop's app role (psql variable app_role, set by the db-migrate Job from Secret
-- db-app-credentials) may do: connect, and read and write the rows of the shop's tables. It owns
-- nothing, creates nothing, and gets the same on tables later migrations add (default privileges
-- of the migration role, which runs this file and owns the schema). Nobody else may connect.
-- Idempotent, like every file here.

SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_role') \gexec

GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
