//! The ingest pipeline: from an Events API request to anonymous event records.
//!
//! Order of work, each step a module:
//! [`body`] parses and validates the request (pure) → [`page`] normalises the URL and keeps only
//! campaign parameters → [`source`] classifies the referrer and channel → [`useragent`] parses the
//! user agent and drops bots → [`geo`] looks the IP up → [`visitor`] hashes (site, IP, user agent)
//! under the day's salt → [`session`] assigns the visit. The IP address and the raw user agent are
//! dropped inside [`pipeline`]; nothing after it ever sees them.

pub mod body;
pub mod geo;
pub mod page;
pub mod pipeline;
pub mod redact;
pub mod session;
pub mod source;
pub mod useragent;
pub mod visitor;

pub use body::{EventRequest, ValidationErrors};
pub use pipeline::{Client, DropReason, Ingestor, Processed, SiteInfo};
