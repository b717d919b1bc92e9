//! Goals: what a site counts as a conversion — a custom event by name, a pageview of a path
//! pattern with Plausible's wildcards (`*` within one path segment, `**` across segments), or a
//! scroll at least a threshold deep on a page of such a pattern.

/// A goal as asked for (CLI flags or admin API body).
#[derive(Clone, Debug, Default)]
pub struct GoalSpec {
    pub event_name: Option<String>,
    pub page_path: Option<String>,
    /// A scroll goal's threshold in per cent; Plausible's `-1` means none (a pageview goal).
    pub scroll_threshold: Option<i64>,
    pub display_name: Option<String>,
}

/// A validated goal, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGoal {
    pub event_name: Option<String>,
    pub page_path: Option<String>,
    pub scroll_threshold: Option<u8>,
    pub display_name: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GoalError(String);

impl NewGoal {
    pub fn parse(spec: GoalSpec) -> Result<NewGoal, GoalError> {
        let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let (event_name, page_path) = (clean(spec.event_name), clean(spec.page_path));
        let scroll_threshold = match spec.scroll_threshold {
            None | Some(-1) => None,
            Some(t) if page_path.is_none() => {
                return Err(GoalError(format!("a scroll threshold ({t}) needs a page path")));
            }
            Some(t) => match u8::try_from(t) {
                Ok(t @ 1..=100) => Some(t),
                _ => return Err(GoalError(format!("a scroll threshold is between 1 and 100 per cent, not {t}"))),
            },
        };
        let display_name = match (&event_name, &page_path) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(GoalError("a goal needs exactly one of an event name or a page path".into()));
            }
            (Some(name), None) => {
                if name.chars().count() > 120 {
                    return Err(GoalError("event names are at most 120 characters".into()));
                }
                clean(spec.display_name).unwrap_or_else(|| name.clone())
            }
            (None, Some(path)) => {
                if !path.starts_with('/') {
                    return Err(GoalError(format!("page paths start with '/': {path}")));
                }
                if path.len() > 2000 {
                    return Err(GoalError("page paths are at most 2000 bytes".into()));
                }
                clean(spec.display_name).unwrap_or_else(|| match scroll_threshold {
                    Some(t) => format!("Scroll {t}% on {path}"),
                    None => crate::stats::api::page_goal_name(path),
                })
            }
        };
        if display_name.chars().count() > 120 {
            return Err(GoalError("display names are at most 120 characters".into()));
        }
        Ok(NewGoal { event_name, page_path, scroll_threshold, display_name })
    }
}

/// A funnel has a name and 2 to 8 distinct steps.
pub fn check_funnel(name: &str, steps: &[String]) -> Result<(), GoalError> {
    if name.trim().is_empty() || name.chars().count() > 120 {
        return Err(GoalError("a funnel needs a name of 1 to 120 characters".into()));
    }
    if !(2..=8).contains(&steps.len()) {
        return Err(GoalError(format!("a funnel has 2 to 8 steps, not {}", steps.len())));
    }
    for (i, s) in steps.iter().enumerate() {
        if steps[..i].contains(s) {
            return Err(GoalError(format!("step '{s}' appears twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_need_one_kind_and_get_plausible_names() {
        let g = NewGoal::parse(GoalSpec { page_path: Some("/blog/*".into()), ..GoalSpec::default() }).unwrap();
        assert_eq!(g.display_name, "Visit /blog/*");
        let g = NewGoal::parse(GoalSpec { event_name: Some(" Signup ".into()), ..GoalSpec::default() }).unwrap();
        assert_eq!((g.event_name.as_deref(), g.display_name.as_str()), (Some("Signup"), "Signup"));
        assert!(NewGoal::parse(GoalSpec::default()).is_err());
        assert!(
            NewGoal::parse(GoalSpec {
                event_name: Some("a".into()),
                page_path: Some("/b".into()),
                ..GoalSpec::default()
            })
            .is_err()
        );
        assert!(NewGoal::parse(GoalSpec { page_path: Some("blog".into()), ..GoalSpec::default() }).is_err());
    }

    #[test]
    fn scroll_goals_need_a_page_and_a_threshold_in_range() {
        let scroll = |page: Option<&str>, t: i64| {
            NewGoal::parse(GoalSpec {
                page_path: page.map(str::to_owned),
                event_name: page.is_none().then(|| "Signup".to_owned()),
                scroll_threshold: Some(t),
                ..GoalSpec::default()
            })
        };
        let g = scroll(Some("/blog"), 90).unwrap();
        assert_eq!((g.scroll_threshold, g.display_name.as_str()), (Some(90), "Scroll 90% on /blog"));
        assert_eq!(scroll(Some("/blog"), -1).unwrap().scroll_threshold, None);
        assert_eq!(scroll(Some("/blog"), -1).unwrap().display_name, "Visit /blog");
        for bad in [0, 101, 255, -2] {
            assert!(scroll(Some("/blog"), bad).is_err(), "{bad}");
        }
        assert!(scroll(None, 50).is_err());
    }
}
