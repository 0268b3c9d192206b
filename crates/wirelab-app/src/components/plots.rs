//! Plots where people would rather look than read: each sender's congestion window and
//! slow-start threshold (RFC 5681), its RTT samples with SRTT and RTO (RFC 6298), and the
//! throughput each node received, all from the metrics and deliveries in the trace, with
//! a cursor at the current step's time.

use std::fmt::Write as _;
use std::rc::Rc;
use wirelab_core::{Instant, Trace, TraceKind};
use yew::prelude::*;

const W: f64 = 640.0;
const H: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;

/// A series to draw: name, CSS class, points (seconds, value), drawn as steps or dots.
struct Series {
    name: String,
    class: &'static str,
    points: Vec<(f64, f64)>,
    dots: bool,
}

/// One chart, ready to draw.
struct Chart {
    title: String,
    unit: &'static str,
    series: Vec<Series>,
}

fn secs(at: Instant) -> f64 {
    at.as_micros() as f64 / 1e6
}

/// 1, 2 or 5 × 10^k, the smallest at or above `v`.
fn nice(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|&c| c >= v).unwrap_or(10.0 * p)
}

/// Charts the trace has data for.
fn charts(trace: &Trace) -> Vec<Chart> {
    let mut out = Vec::new();
    for (node, info) in trace.nodes.iter().enumerate() {
        let series = |name: &str| -> Vec<(f64, f64)> {
            trace.metric_series(node, name).into_iter().map(|(t, v)| (secs(t), v)).collect()
        };
        let (cwnd, ssthresh) = (series("cwnd"), series("ssthresh"));
        // Only a sender that did more than open a connection is worth a chart.
        if cwnd.len() > 3 {
            let kb = |v: Vec<(f64, f64)>| v.into_iter().map(|(t, b)| (t, b / 1000.0)).collect();
            let mut s = vec![Series { name: "cwnd".into(), class: "s1", points: kb(cwnd), dots: false }];
            // ssthresh starts "arbitrarily high" (RFC 5681 §3.1): drawn once it means something.
            let ssthresh: Vec<(f64, f64)> = kb(ssthresh);
            let cap = s[0].points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.5;
            let ssthresh: Vec<(f64, f64)> = ssthresh.into_iter().filter(|p| p.1 <= cap.max(1.0)).collect();
            if !ssthresh.is_empty() {
                s.push(Series { name: "ssthresh".into(), class: "s2", points: ssthresh, dots: false });
            }
            out.push(Chart { title: format!("{}: congestion window (RFC 5681)", info.name), unit: "KB", series: s });
        }
        let rtt = series("rtt");
        if rtt.len() > 3 {
            let mut s = vec![Series { name: "RTT sample".into(), class: "s3", points: rtt, dots: true }];
            for (name, class) in [("srtt", "s1"), ("rto", "s2")] {
                let points = series(name);
                if !points.is_empty() {
                    s.push(Series { name: name.to_uppercase(), class, points, dots: false });
                }
            }
            out.push(Chart { title: format!("{}: round-trip time (RFC 6298)", info.name), unit: "ms", series: s });
        }
    }
    // Throughput each node received, per 100 ms, when a run moves real amounts of data.
    let bucket = 0.1;
    let mut received: Vec<Vec<(f64, f64)>> = vec![Vec::new(); trace.nodes.len()];
    for e in &trace.events {
        if let TraceKind::Delivered { sent_seq, .. } = e.kind
            && let Some(TraceKind::Sent { frame }) = trace.events.get(sent_seq).map(|s| &s.kind)
            && let Some(list) = received.get_mut(e.node)
        {
            list.push((secs(e.at), frame.bytes.len() as f64));
        }
    }
    let mut series = Vec::new();
    for (node, list) in received.iter().enumerate() {
        let total: f64 = list.iter().map(|p| p.1).sum();
        if total < 50_000.0 {
            continue;
        }
        let end = list.last().map_or(0.0, |p| p.0);
        let n = (end / bucket).ceil() as usize + 1;
        let mut bins = vec![0.0; n];
        for &(t, b) in list {
            if let Some(bin) = bins.get_mut((t / bucket) as usize) {
                *bin += b;
            }
        }
        let points = bins.iter().enumerate().map(|(i, b)| (i as f64 * bucket, b * 8.0 / bucket / 1e6)).collect();
        let class = ["s1", "s2", "s3", "s4"][series.len() % 4];
        series.push(Series { name: format!("to {}", trace.nodes[node].name), class, points, dots: false });
    }
    if !series.is_empty() && series.len() <= 4 {
        out.push(Chart { title: "Throughput received, per 100 ms".into(), unit: "Mbit/s", series });
    }
    out
}

/// The chart as SVG markup (a string: thousands of points draw faster as one `path`).
fn draw(chart: &Chart, t_max: f64) -> String {
    let y_max = nice(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max));
    let x = |t: f64| LEFT + (W - LEFT - RIGHT) * t / t_max;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / y_max);
    let mut svg = String::new();
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{} {}</text>"#,
            W - RIGHT,
            y(v),
            y(v),
            LEFT - 6.0,
            y(v) + 4.0,
            if v >= 100.0 || v == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") },
            chart.unit
        );
    }
    for i in 0..=5 {
        let t = t_max * f64::from(i) / 5.0;
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{t:.2} s</text>"#,
            x(t),
            H - BOTTOM + 16.0
        );
    }
    for (k, s) in chart.series.iter().enumerate() {
        if s.dots {
            let _ = write!(svg, r#"<g class="series {}">"#, s.class);
            for &(t, v) in &s.points {
                let _ = write!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="2"/>"#, x(t), y(v));
            }
            svg.push_str("</g>");
        } else {
            // A metric holds its value until the next report: a step line.
            let mut d = String::new();
            let mut last = None;
            for &(t, v) in &s.points {
                match last {
                    None => {
                        let _ = write!(d, "M{:.1},{:.1}", x(t), y(v));
                    }
                    Some(_) => {
                        let _ = write!(d, "H{:.1}V{:.1}", x(t), y(v));
                    }
                }
                last = Some(v);
            }
            let _ = write!(svg, r#"<path class="series {}" d="{d}"/>"#, s.class);
        }
        let lx = LEFT + 8.0 + 110.0 * k as f64;
        let _ = write!(
            svg,
            r#"<g class="legend {}"><rect x="{lx}" y="{}" width="10" height="3"/><text x="{}" y="{}">{}</text></g>"#,
            s.class,
            H - 10.0,
            lx + 14.0,
            H - 6.0,
            s.name
        );
    }
    svg
}

#[derive(Properties, PartialEq)]
pub struct PlotsProps {
    pub trace: Rc<Trace>,
    /// The current step's trace event, for the cursor.
    pub event: Option<usize>,
}

#[component(Plots)]
pub fn plots(props: &PlotsProps) -> Html {
    let t_max = props.trace.events.last().map_or(1.0, |e| secs(e.at)).max(0.001);
    // Drawn once per run: a step only moves the cursor (a run may have 10 000 steps).
    let drawn = use_memo(props.trace.clone(), |trace| {
        charts(trace)
            .iter()
            .map(|chart| {
                // The whole <svg> as markup: parsed in HTML, an <svg> root makes SVG elements.
                let svg = format!(
                    r#"<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{}">{}</svg>"#,
                    chart.title.replace('"', "'"),
                    draw(chart, t_max)
                );
                (chart.title.clone(), Html::from_html_unchecked(AttrValue::from(svg)))
            })
            .collect::<Vec<_>>()
    });
    if drawn.is_empty() {
        return html! {};
    }
    let cursor = props.event.and_then(|e| props.trace.events.get(e)).map(|e| secs(e.at));
    // The cursor as a share of the figure's width, over the plot area.
    let left = cursor.map(|t| 100.0 * (LEFT + (W - LEFT - RIGHT) * t / t_max) / W);
    html! {
        <section class="plots" aria-label="Plots" data-testid="plots">
            { for drawn.iter().map(|(title, svg)| html! {
                <figure class="plot">
                    <figcaption>{ title }</figcaption>
                    <div class="plot-area">
                        { svg.clone() }
                        if let Some(left) = left {
                            <div class="cursor" style={format!("left: {left:.2}%; top: {:.2}%; height: {:.2}%", 100.0 * TOP / H, 100.0 * (H - TOP - BOTTOM) / H)} />
                        }
                    </div>
                </figure>
            }) }
        </section>
    }
}

/// Client-server against peer-to-peer for N = 2 … 32 downloaders: run on request (eight
/// simulations, a second or two in the browser), drawn by the same code as
/// `wirelab models --svg`.
#[cfg(feature = "classic")]
#[component(ModelsPlot)]
pub fn models_plot() -> Html {
    let result = use_state(|| None::<Result<String, String>>);
    let run = {
        let result = result.clone();
        Callback::from(move |_| {
            let rows = wirelab_scenarios::models::comparison(&[2, 4, 8, 16, 32], 1);
            result.set(Some(rows.map(|r| wirelab_scenarios::models::plot_svg(&r)).map_err(|e| e.to_string())));
        })
    };
    html! {
        <section class="plots models-plot" data-testid="models-plot">
            <figure class="plot">
                <figcaption>{ "Total download time as N grows: client-server against peer-to-peer" }</figcaption>
                { match &*result {
                    None => html! {
                        <button data-testid="models-run" onclick={run}>{ "Run N = 2, 4, 8, 16, 32 both ways and plot" }</button>
                    },
                    Some(Ok(svg)) => Html::from_html_unchecked(AttrValue::from(svg.clone())),
                    Some(Err(e)) => html! { <p class="error" role="alert">{ format!("The runs failed: {e}") }</p> },
                } }
            </figure>
        </section>
    }
}
