//! Horizontal bar charts as inline SVG, drawn here so the page needs no script or
//! network to show them. Every label is escaped; numbers are the only other content.

use crate::safe::html_escape as esc;
use std::fmt::Write;

/// Colours of the severities, most serious first (as `tally::SEVERITIES`).
pub(crate) const SEVERITY_COLORS: [&str; 3] = ["#c0392b", "#e67e22", "#f1c40f"];
/// A neutral bar.
pub(crate) const BAR_COLOR: &str = "#4472c4";

/// One bar: a label and stacked segments (value, colour).
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) segments: Vec<(u64, &'static str)>,
}

impl Bar {
    /// A bar of one segment.
    pub(crate) fn single(label: impl Into<String>, value: u64, color: &'static str) -> Bar {
        Bar {
            label: label.into(),
            segments: vec![(value, color)],
        }
    }

    fn total(&self) -> u64 {
        self.segments.iter().map(|s| s.0).sum()
    }
}

const ROW: usize = 26;
const LABEL_W: usize = 200;
const BAR_W: usize = 330;
const VALUE_W: usize = 50;
const LABEL_CHARS: usize = 15;

/// A `<figure class="chart">` holding the caption, an optional legend and the SVG
/// (whose id is `id`). The figure carries no other attribute: tests count it as written.
pub(crate) fn bar_chart(id: &str, title: &str, bars: &[Bar], legend: &[(&str, &str)]) -> String {
    let max = bars.iter().map(Bar::total).max().unwrap_or(0).max(1);
    let width = LABEL_W + BAR_W + VALUE_W;
    let height = ROW * bars.len().max(1) + 8;
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\"><figcaption>{}</figcaption>",
        esc(title)
    );
    if !legend.is_empty() {
        s.push_str("<div class=\"legend\">");
        for (name, color) in legend {
            let _ = write!(
                s,
                "<span><i style=\"background:{}\"></i>{}</span>",
                esc(color),
                esc(name)
            );
        }
        s.push_str("</div>");
    }
    let _ = write!(
        s,
        "<svg id=\"{}\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">",
        esc(id),
        esc(title)
    );
    if bars.is_empty() {
        s.push_str("<text x=\"4\" y=\"18\" class=\"empty\">无数据</text>");
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = i * ROW + 4;
        let total = bar.total();
        let short = shorten(&bar.label);
        let _ = write!(
            s,
            "<g><title>{}：{total}</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            esc(&bar.label),
            LABEL_W - 6,
            y + 14,
            esc(&short)
        );
        let mut x = LABEL_W as f64;
        for (value, color) in &bar.segments {
            if *value == 0 {
                continue;
            }
            let w = (*value as f64 / max as f64 * BAR_W as f64).max(1.0);
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/>",
                ROW - 8,
                esc(color)
            );
            x += w;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" class=\"value\">{total}</text></g>",
            x + 4.0,
            y + 14
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_labels_are_escaped() {
        let bars = [
            Bar::single("<b>局</b>", 10, BAR_COLOR),
            Bar::single("乙", 5, BAR_COLOR),
        ];
        let svg = bar_chart("c", "标题", &bars, &[]);
        assert!(svg.contains("width=\"330.0\"") && svg.contains("width=\"165.0\""));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(bar_chart("c", "空", &[], &[]).contains("无数据"));
    }

    #[test]
    fn long_labels_are_shortened_but_kept_in_the_tooltip() {
        let long = "新疆维吾尔自治区喀什地区巴楚县市场监督管理局";
        let svg = bar_chart("c", "t", &[Bar::single(long, 1, BAR_COLOR)], &[]);
        assert!(svg.contains(&format!("<title>{long}：1</title>")));
        assert!(svg.contains('…'));
    }
}
