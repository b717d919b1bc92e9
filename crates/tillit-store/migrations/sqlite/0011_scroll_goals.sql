-- Scroll-depth goals: a page goal with a threshold (1–100) converts when a visitor scrolls at
-- least that far (per cent) down a matching page; NULL keeps a page goal a pageview goal.
ALTER TABLE goals ADD COLUMN scroll_threshold INTEGER CHECK (scroll_threshold BETWEEN 1 AND 100);
