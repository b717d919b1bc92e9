//! The ceiling for the ingest benchmark: the same HTTP stack as Tillit (axum on a tokio runtime
//! with one worker per core, jemalloc as the allocator) answering `POST /api/event` with 202
//! after reading the body, and doing nothing else.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8099".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let app = Router::new().route("/api/event", post(|_body: Bytes| async { (StatusCode::ACCEPTED, "ok") }));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}
