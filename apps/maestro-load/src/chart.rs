//! SVG charts of a report (`--chart PATH`): the latency distribution as a CDF, with the
//! p50/p95/p99 marks, drawn with `plotters` (SVG backend only, no font files needed).

use std::path::Path;

use plotters::prelude::*;

use crate::common::{Error, Report, percentile};

/// Writes the CDF of `report`'s latencies to `path`.
pub fn latency_cdf(path: &Path, report: &Report) -> Result<(), Error> {
    let mut sorted = report.latencies_ms.clone();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Err("no latency samples to chart".into());
    }
    let max = sorted.last().copied().unwrap_or(1.0).max(0.001) * 1.05;
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let caption = format!(
        "maestro-load {}: {} ({} samples)",
        report.scenario,
        report.latency_of,
        sorted.len()
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..max, 0f64..100f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("% of samples at or below")
        .draw()
        .map_err(|e| e.to_string())?;
    // At most ~1,000 points (evenly spaced ranks, and the last), so charts stay small.
    let n = sorted.len();
    let step = n.div_ceil(1000).max(1);
    let points: Vec<(f64, f64)> = (0..n)
        .filter(|i| i % step == 0 || *i == n - 1)
        .map(|i| (sorted[i], (i as f64 + 1.0) / n as f64 * 100.0))
        .collect();
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    for (p, color) in [(50.0, GREEN), (95.0, MAGENTA), (99.0, RED)] {
        let at = percentile(&sorted, p);
        chart
            .draw_series([Circle::new((at, p), 4, color.filled())])
            .map_err(|e| e.to_string())?
            .label(format!("p{p:.0} {at:.1} ms"))
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
