-- The language a user chose for the web UI (en, nb, sv, da); NULL follows the browser.
ALTER TABLE users ADD COLUMN locale TEXT;
