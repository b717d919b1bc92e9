//! The stats service: authorises a Stats API key, looks up the site and its goals, runs the
//! query on the event store's reader (off the async runtime) and shapes the answer.
//!
//! Keys: `tlt_` followed by 48 hex digits (192 random bits). Only their SHA-256 hash is stored.
//! Each key has an hourly request budget, counted in memory per clock hour.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tillit_store::app::{AppStore, AppStoreError};
use tillit_store::events::{EventReader, EventStoreError};
use tillit_store::query::QueryOutput;

use super::api::{self, QueryError, SiteCtx, Surface, V1Endpoint};
use super::period;

/// Why a stats request failed; the HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
}

impl From<QueryError> for StatsError {
    fn from(e: QueryError) -> Self {
        StatsError::BadRequest(e.0)
    }
}

impl From<AppStoreError> for StatsError {
    fn from(e: AppStoreError) -> Self {
        StatsError::Internal(e.to_string())
    }
}

impl From<EventStoreError> for StatsError {
    fn from(e: EventStoreError) -> Self {
        StatsError::Internal(e.to_string())
    }
}

/// Answers Stats API requests.
#[derive(Clone)]
pub struct StatsService {
    app: AppStore,
    reader: Arc<EventReader>,
    /// Queries running at once (see [`CONCURRENT_QUERIES`]).
    running: Arc<tokio::sync::Semaphore>,
}

/// Store queries allowed to run at the same time; the rest wait their turn. Each query may use
/// all of DuckDB's threads, but parts of a query run on one (a hash table's final merge, the
/// sort), so a few at once keep both cores busy: a dashboard's eight requests over a full day of
/// raw events (3.3 M) took 3.4 s two at a time and 2.8 s four at a time, for ~150 MB more peak
/// RSS (`bench/query.sh`). Unbounded, the eight together peaked at 1.9 GB (BENCHMARKS.md).
const CONCURRENT_QUERIES: usize = 4;

impl StatsService {
    pub fn new(app: AppStore, reader: EventReader) -> StatsService {
        StatsService {
            app,
            reader: Arc::new(reader),
            running: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_QUERIES)),
        }
    }

    /// The site with its goals, or `None` when it does not exist.
    pub async fn site(&self, domain: &str) -> Result<Option<SiteCtx>, StatsError> {
        let Some(site) = self.app.list_sites().await?.into_iter().find(|s| s.domain == domain) else {
            return Ok(None);
        };
        let goals = self.app.goals(site.id).await?.iter().map(api::goal).collect();
        Ok(Some(SiteCtx {
            id: site.id,
            domain: site.domain,
            tz: period::zone(&site.timezone),
            tz_name: site.timezone,
            goals,
            first_event: None,
        }))
    }

    /// The site with its first event filled in when the period is `all` (the only period that
    /// needs it: finding it scans the site's events).
    async fn with_first_event(&self, site: &SiteCtx, period: Option<&str>) -> Result<SiteCtx, StatsError> {
        let mut site = site.clone();
        if period == Some("all") {
            let reader = self.reader.clone();
            let id = site.id;
            site.first_event = blocking(move || reader.first_event(id)).await?;
        }
        Ok(site)
    }

    /// `POST /api/v2/query`.
    pub async fn v2(&self, site: &SiteCtx, body: &Value, now: i64) -> Result<Value, StatsError> {
        self.v2_for(site, body, now, Surface::Api).await
    }

    /// A v2 query document from Tillit's own dashboard (see [`Surface`]).
    pub async fn dashboard(&self, site: &SiteCtx, body: &Value, now: i64) -> Result<Value, StatsError> {
        self.v2_for(site, body, now, Surface::Dashboard).await
    }

    async fn v2_for(&self, site: &SiteCtx, body: &Value, now: i64, surface: Surface) -> Result<Value, StatsError> {
        let site = self.with_first_event(site, body.get("date_range").and_then(Value::as_str)).await?;
        let q = api::parse_v2(body, &site, now, surface)?;
        let out = self.run(q.query.clone()).await?;
        let compared = match &q.comparison {
            Some((c, _)) => Some(self.run(c.clone()).await?),
            None => None,
        };
        Ok(api::render_v2(&q, &out, compared.as_ref()))
    }

    /// `GET /api/v1/stats/{aggregate,timeseries,breakdown}`.
    pub async fn v1(
        &self,
        site: &SiteCtx,
        endpoint: V1Endpoint,
        params: &HashMap<String, String>,
        now: i64,
    ) -> Result<Value, StatsError> {
        let site = self.with_first_event(site, params.get("period").map(String::as_str)).await?;
        let q = api::parse_v1(endpoint, params, &site, now)?;
        let out = self.run(q.query.clone()).await?;
        let previous = match &q.previous {
            Some(p) => Some(self.run(p.clone()).await?),
            None => None,
        };
        Ok(api::render_v1(&q, &out, previous.as_ref()))
    }

    /// `GET /api/v1/stats/funnel?funnel=NAME`: visitors per step of a saved funnel.
    pub async fn funnel(
        &self,
        site: &SiteCtx,
        params: &HashMap<String, String>,
        now: i64,
    ) -> Result<Value, StatsError> {
        let name =
            params.get("funnel").ok_or_else(|| StatsError::BadRequest("The `funnel` parameter is required".into()))?;
        let (funnel, steps) = self.saved_funnel(site, name).await?;
        let site = self.with_first_event(site, params.get("period").map(String::as_str)).await?;
        let q = api::parse_funnel(params, &site, steps.clone(), now)?;
        self.run_funnel(&funnel.name, &steps, q).await
    }

    /// A saved funnel over the `date_range` and `filters` of a v2 query document (the
    /// dashboard's), answered like [`StatsService::funnel`].
    pub async fn funnel_v2(&self, site: &SiteCtx, name: &str, body: &Value, now: i64) -> Result<Value, StatsError> {
        let (funnel, steps) = self.saved_funnel(site, name).await?;
        let q = api::parse_v2(body, site, now, Surface::Dashboard)?;
        let f = tillit_store::query::FunnelQuery {
            site_id: site.id,
            start: q.query.start,
            end: q.query.end,
            filter: q.query.filter,
            steps: steps.clone(),
        };
        self.run_funnel(&funnel.name, &steps, f).await
    }

    async fn saved_funnel(
        &self,
        site: &SiteCtx,
        name: &str,
    ) -> Result<(tillit_store::app::FunnelRow, Vec<tillit_store::query::Goal>), StatsError> {
        let funnel = self
            .app
            .funnels(site.id)
            .await?
            .into_iter()
            .find(|f| f.name == name)
            .ok_or_else(|| StatsError::BadRequest(format!("Funnel '{name}' does not exist for this site")))?;
        let steps = funnel.steps.iter().map(api::goal).collect();
        Ok((funnel, steps))
    }

    async fn run_funnel(
        &self,
        name: &str,
        steps: &[tillit_store::query::Goal],
        q: tillit_store::query::FunnelQuery,
    ) -> Result<Value, StatsError> {
        let _turn = self.running.acquire().await.map_err(|e| StatsError::Internal(e.to_string()))?;
        let reader = self.reader.clone();
        let visitors = blocking(move || reader.funnel(&q)).await?;
        Ok(api::render_funnel(name, steps, &visitors))
    }

    /// The custom property keys used in `[start, end)`, most used first (the dashboard's
    /// property tabs).
    pub async fn prop_keys(&self, site: &SiteCtx, start: i64, end: i64) -> Result<Vec<String>, StatsError> {
        let reader = self.reader.clone();
        let id = site.id;
        blocking(move || reader.prop_keys(id, start, end, 25)).await
    }

    /// The site's first stored event (Unix seconds), if any: whether tracking is installed.
    pub async fn first_event(&self, site: &SiteCtx) -> Result<Option<i64>, StatsError> {
        let reader = self.reader.clone();
        let id = site.id;
        blocking(move || reader.first_event(id)).await
    }

    /// Visitors in the last five minutes.
    pub async fn realtime_visitors(&self, site: &SiteCtx, now: i64) -> Result<u64, StatsError> {
        let reader = self.reader.clone();
        let id = site.id;
        blocking(move || reader.current_visitors(id, now - 300)).await
    }

    /// Summarises every site's finished UTC days that have no valid roll-up yet (see
    /// `tillit_store::events` on roll-ups), one day per blocking call so that the work can stop
    /// between days. Returns the number of days built.
    pub async fn build_rollups(&self, now: i64) -> Result<usize, StatsError> {
        const DAY: i64 = 86_400;
        let mut built = 0;
        for site in self.app.list_sites().await? {
            let reader = self.reader.clone();
            let Some(first) = blocking(move || reader.first_event(site.id)).await? else { continue };
            let (first_day, last_day) = (first.div_euclid(DAY), now.div_euclid(DAY));
            let local = period::local_time(&period::zone(&site.timezone), first_day * DAY, last_day * DAY);
            let goals: Vec<_> = self.app.goals(site.id).await?.iter().map(api::goal).collect();
            for day in first_day..last_day {
                // One permit: queries keep the other.
                let _turn = self.running.acquire().await.map_err(|e| StatsError::Internal(e.to_string()))?;
                let (reader, local, goals) = (self.reader.clone(), local.clone(), goals.clone());
                built += blocking(move || reader.build_rollups(site.id, day, day + 1, &local, &goals, now)).await?;
            }
        }
        Ok(built)
    }

    async fn run(&self, q: tillit_store::query::StatsQuery) -> Result<QueryOutput, StatsError> {
        let _turn = self.running.acquire().await.map_err(|e| StatsError::Internal(e.to_string()))?;
        let reader = self.reader.clone();
        blocking(move || reader.query(&q)).await
    }
}

/// Runs a blocking store call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EventStoreError> + Send + 'static,
) -> Result<T, StatsError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StatsError::Internal(e.to_string()))?.map_err(StatsError::from)
}
