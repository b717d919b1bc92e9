//! The line charts, drawn on the server as SVG: the main graph (with an optional comparison line)
//! and the site list's sparklines. Every point carries its exact value as a `<title>` (hover,
//! screen readers) and is focusable, so the graph can be read with the keyboard; the script adds
//! a read-out that follows the pointer and the arrow keys.

use std::fmt::Write;

/// Width and height of the drawing area, in SVG units.
const W: f64 = 600.0;
const H: f64 = 160.0;
/// Above this many points, dots (and their titles) are left out: the line alone stays readable
/// and the page light; the data table under the graph still has every value.
const MAX_DOTS: usize = 200;

/// One point: its label (`26 Nov`, `14:00`), value, and the value written for people.
pub struct Point {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

/// A drawn graph.
pub struct Graph {
    pub line: String,
    pub comparison: String,
    pub dots: Vec<Dot>,
    /// The y axis' top value, written for people.
    pub top: String,
    /// Labels under the x axis: first, middle, last.
    pub ticks: Vec<(f64, String)>,
    /// `label: value` per point, for the script's read-out (JSON in a data attribute).
    pub series: String,
}

pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub title: String,
}

fn coords(values: &[f64], max: f64) -> Vec<(f64, f64)> {
    let step = if values.len() > 1 { W / (values.len() - 1) as f64 } else { 0.0 };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = (i as f64 * step * 10.0).round() / 10.0;
            let y = ((H - 10.0 - (H - 20.0) * v / max) * 10.0).round() / 10.0;
            (x, y)
        })
        .collect()
}

fn polyline(points: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(points.len() * 12);
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x},{y}");
    }
    s
}

/// Draws `points`, and `compared` (the comparison period, same number of buckets or fewer) as a
/// second line on the same scale. `top` writes the y axis maximum.
pub fn draw(points: &[Point], compared: &[f64], top: impl Fn(f64) -> String) -> Graph {
    let values: Vec<f64> = points.iter().map(|p| p.value).collect();
    let max = values.iter().chain(compared).copied().fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let xy = coords(&values, scale);
    let dots = if points.len() <= MAX_DOTS {
        points
            .iter()
            .zip(&xy)
            .map(|(p, (x, y))| Dot { x: *x, y: *y, title: format!("{}: {}", p.label, p.shown) })
            .collect()
    } else {
        Vec::new()
    };
    let n = points.len();
    let ticks = match n {
        0 => Vec::new(),
        1 => vec![(0.0, points[0].label.clone())],
        _ => [0, n / 2, n - 1].iter().map(|&i| (xy[i].0, points[i].label.clone())).collect(),
    };
    let series = serde_json::to_string(&points.iter().map(|p| [&p.label, &p.shown]).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned());
    let compared: Vec<f64> = compared.iter().take(n.max(1)).copied().collect();
    // The comparison line spreads over the same width when it has as many buckets.
    let comparison = if compared.is_empty() { String::new() } else { polyline(&coords(&compared, scale)) };
    Graph { line: polyline(&xy), comparison, dots, top: top(max), ticks, series }
}

/// A sparkline: a 100 × 24 polyline of the values.
pub fn sparkline(values: &[f64]) -> String {
    let max = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let step = if values.len() > 1 { 100.0 / (values.len() - 1) as f64 } else { 0.0 };
    let pts: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (((i as f64 * step) * 10.0).round() / 10.0, ((22.0 - 20.0 * v / max) * 10.0).round() / 10.0))
        .collect();
    polyline(&pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(vals: &[f64]) -> Vec<Point> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| Point { label: format!("d{i}"), value: *v, shown: v.to_string() })
            .collect()
    }

    #[test]
    fn scales_to_the_larger_line() {
        let g = draw(&pts(&[0.0, 5.0, 10.0]), &[20.0, 0.0, 0.0], |m| m.to_string());
        assert_eq!(g.top, "20");
        assert_eq!(g.line, "0,150 300,115 600,80");
        assert_eq!(g.comparison, "0,10 300,150 600,150");
        assert_eq!(g.dots[2].title, "d2: 10");
        assert_eq!(g.ticks.len(), 3);
    }

    #[test]
    fn many_points_have_no_dots_but_a_series() {
        let vals: Vec<f64> = (0..1440).map(f64::from).collect();
        let g = draw(&pts(&vals), &[], |m| m.to_string());
        assert!(g.dots.is_empty());
        assert!(g.series.starts_with("[[\"d0\",\"0\"]"));
        assert_eq!(draw(&pts(&[0.0, 0.0]), &[], |m| m.to_string()).line, "0,150 600,150");
    }
}
