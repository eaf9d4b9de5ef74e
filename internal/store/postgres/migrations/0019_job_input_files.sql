-- The files a job's input directory holds before its first container starts (a Kratix pipeline's object.yaml):
-- JSON {name: base64 bytes}; NULL for none.
ALTER TABLE jobs ADD COLUMN input_files text;
