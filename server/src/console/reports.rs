//! Reports for the office: hours credited by project and by week,
//! attendance counts by week, and enforcement counts by state — each as
//! figures (team-scoped by the caller), an accessible server-drawn SVG
//! bar chart (title and description, the same figures in a table beside
//! it) and a CSV file safe to open in a spreadsheet.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

/// The longest date range a report covers.
pub const MAX_DAYS: i64 = 366;

/// A checked date range, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Range {
    /// Whether `d` is in it.
    pub fn holds(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// One date as typed in three fields; empty fields mean "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DateFields {
    /// Day.
    pub day: String,
    /// Month.
    pub month: String,
    /// Year.
    pub year: String,
}

impl DateFields {
    fn empty(&self) -> bool {
        self.day.trim().is_empty() && self.month.trim().is_empty() && self.year.trim().is_empty()
    }
    fn parse(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(
            self.year.trim().parse().ok()?,
            self.month.trim().parse().ok()?,
            self.day.trim().parse().ok()?,
        )
    }
    /// The fields of a date.
    pub fn of(d: NaiveDate) -> Self {
        DateFields {
            day: d.day().to_string(),
            month: d.month().to_string(),
            year: d.year().to_string(),
        }
    }
}

/// The default range: the eight weeks to `today` (from a Monday).
pub fn default_range(today: NaiveDate) -> Range {
    Range {
        from: week_of(today) - chrono::Duration::weeks(7),
        to: today,
    }
}

/// Checks the range asked for; a missing end takes the default's. Each
/// problem names its field (`from-day`, `to-day`).
pub fn check_range(
    from: &DateFields,
    to: &DateFields,
    today: NaiveDate,
) -> Result<Range, Vec<(&'static str, String)>> {
    let d = default_range(today);
    let mut problems = vec![];
    let mut read = |f: &DateFields, default: NaiveDate, id: &'static str, name: &str| {
        if f.empty() {
            return Some(default);
        }
        let got = f.parse();
        if got.is_none() {
            problems.push((
                id,
                format!("The {name} date must be a real date, for example 2 12 2026"),
            ));
        }
        got
    };
    let from = read(from, d.from, "from-day", "start");
    let to = read(to, d.to, "to-day", "end");
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            problems.push((
                "to-day",
                "The end date must be the same as or after the start date".into(),
            ));
        } else if (t - f).num_days() >= MAX_DAYS {
            problems.push(("to-day", format!("A report covers at most {MAX_DAYS} days")));
        }
    }
    match (from, to) {
        (Some(from), Some(to)) if problems.is_empty() => Ok(Range { from, to }),
        _ => Err(problems),
    }
}

/// The Monday of `d`'s week (ISO weeks, as the office counts them).
pub fn week_of(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// Attendance categories, in the order reports show them.
pub const CATEGORIES: &[&str] = &[
    "Attended",
    "Sent home",
    "Failed to attend",
    "Failed to comply",
    "Acceptable absence",
    "Rescheduled",
    "Other",
];

/// The attendance category of an outcome code (the core's code table
/// says how a code counts).
pub fn category(code: &str) -> &'static str {
    use fieldbook_core::unpaid_work::codes::{outcome, OutcomeKind};
    let Some(c) = outcome(code) else {
        return "Other";
    };
    match c.kind {
        OutcomeKind::Attended if matches!(c.code, "ATSH" | "ATSS") => "Sent home",
        OutcomeKind::Attended if c.code == "AFTC" => "Failed to comply",
        OutcomeKind::Attended => "Attended",
        OutcomeKind::Failure if c.code == "UACP" => "Failed to attend",
        OutcomeKind::Failure => "Failed to comply",
        OutcomeKind::AcceptableAbsence => "Acceptable absence",
        OutcomeKind::Rescheduled => "Rescheduled",
        OutcomeKind::Administrative => "Other",
    }
}

/// One outcome as the reports count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// Session date.
    pub date: NaiveDate,
    /// Project name.
    pub project: String,
    /// Outcome code.
    pub code: String,
    /// Minutes credited.
    pub minutes: i64,
    /// Flagged step (empty when none).
    pub step: String,
    /// The office's decision label (empty while open).
    pub decision: String,
}

/// The three reports' figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Minutes by (project, week).
    pub hours: BTreeMap<(String, NaiveDate), i64>,
    /// Minutes by week.
    pub hours_by_week: BTreeMap<NaiveDate, i64>,
    /// Minutes by project.
    pub hours_by_project: BTreeMap<String, i64>,
    /// Outcomes by (week, category).
    pub attendance: BTreeMap<(NaiveDate, &'static str), i64>,
    /// Outcomes by category.
    pub attendance_total: BTreeMap<&'static str, i64>,
    /// Enforcement items by (flagged step, state).
    pub enforcement: BTreeMap<(String, String), i64>,
    /// Enforcement items by state.
    pub enforcement_by_state: BTreeMap<String, i64>,
}

/// Counts the outcomes in `range`.
pub fn figures(outcomes: &[Counted], range: Range) -> Figures {
    let mut f = Figures::default();
    for o in outcomes.iter().filter(|o| range.holds(o.date)) {
        let week = week_of(o.date);
        *f.hours.entry((o.project.clone(), week)).or_default() += o.minutes;
        *f.hours_by_week.entry(week).or_default() += o.minutes;
        *f.hours_by_project.entry(o.project.clone()).or_default() += o.minutes;
        let c = category(&o.code);
        *f.attendance.entry((week, c)).or_default() += 1;
        *f.attendance_total.entry(c).or_default() += 1;
        if !o.step.is_empty() {
            let state = if o.decision.is_empty() {
                "Open".to_owned()
            } else {
                o.decision.clone()
            };
            *f.enforcement
                .entry((o.step.clone(), state.clone()))
                .or_default() += 1;
            *f.enforcement_by_state.entry(state).or_default() += 1;
        }
    }
    f
}

/// Hours as a decimal (`2.5`), as spreadsheets read it.
pub fn decimal_hours(minutes: i64) -> String {
    let h = minutes / 60;
    let m = (minutes % 60).abs();
    if m == 0 {
        h.to_string()
    } else {
        let frac = format!("{:.2}", m as f64 / 60.0);
        format!(
            "{h}.{}",
            frac.trim_start_matches("0.").trim_end_matches('0')
        )
    }
}

/// One CSV cell: quoted when it holds a separator, quote or line break,
/// and prefixed with `'` when a spreadsheet would read it as a formula
/// (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return).
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// A CSV file (CRLF line ends, as RFC 4180 has it).
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    out.push_str(&line(header.iter().map(|h| csv_cell(h)).collect()));
    for r in rows {
        out.push_str(&line(r.iter().map(|c| csv_cell(c)).collect()));
    }
    out
}

/// The rows of each report, as its table and its CSV hold them.
pub fn hours_rows(f: &Figures) -> Vec<Vec<String>> {
    f.hours
        .iter()
        .map(|((p, w), m)| vec![p.clone(), w.to_string(), m.to_string(), decimal_hours(*m)])
        .collect()
}

/// Header of [`hours_rows`].
pub const HOURS_HEADER: &[&str] = &[
    "Project",
    "Week beginning",
    "Minutes credited",
    "Hours credited",
];

/// Attendance by week: one row per week, a column per category.
pub fn attendance_rows(f: &Figures) -> Vec<Vec<String>> {
    let weeks: std::collections::BTreeSet<NaiveDate> =
        f.attendance.keys().map(|(w, _)| *w).collect();
    weeks
        .into_iter()
        .map(|w| {
            let mut row = vec![w.to_string()];
            let mut total = 0;
            for c in CATEGORIES {
                let n = f.attendance.get(&(w, *c)).copied().unwrap_or(0);
                total += n;
                row.push(n.to_string());
            }
            row.push(total.to_string());
            row
        })
        .collect()
}

/// Header of [`attendance_rows`].
pub fn attendance_header() -> Vec<&'static str> {
    let mut h = vec!["Week beginning"];
    h.extend_from_slice(CATEGORIES);
    h.push("Total");
    h
}

/// Enforcement by flagged step and state.
pub fn enforcement_rows(f: &Figures) -> Vec<Vec<String>> {
    f.enforcement
        .iter()
        .map(|((step, state), n)| vec![step.clone(), state.clone(), n.to_string()])
        .collect()
}

/// Header of [`enforcement_rows`].
pub const ENFORCEMENT_HEADER: &[&str] = &["Flagged step", "State", "Items"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A horizontal bar chart as inline SVG: `role="img"` with its title and
/// description (which names every figure), so a screen reader reads the
/// chart; the page shows the same figures in a table too.
pub fn bar_chart(id: &str, title: &str, bars: &[(String, i64, String)]) -> String {
    const LABEL_W: i64 = 220;
    const BAR_W: i64 = 360;
    const ROW_H: i64 = 28;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let height = (i64::try_from(bars.len()).unwrap_or(0) * ROW_H).max(ROW_H) + 10;
    let width = LABEL_W + BAR_W + 120;
    let desc = if bars.is_empty() {
        "No figures in this range.".to_owned()
    } else {
        bars.iter()
            .map(|(l, _, shown)| format!("{l}: {shown}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" class=\"fb-bars\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(title),
        esc(&desc)
    );
    for (i, (label, v, shown)) in bars.iter().enumerate() {
        let y = i64::try_from(i).unwrap_or(0) * ROW_H + 5;
        let w = (v.max(&0) * BAR_W / max).max(if *v > 0 { 2 } else { 0 });
        let short: String = label.chars().take(30).collect();
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"fb-bars__label\" aria-hidden=\"true\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{}\" class=\"fb-chart__bar\"></rect>\
             <text x=\"{}\" y=\"{}\" class=\"fb-bars__label\" aria-hidden=\"true\">{}</text>",
            LABEL_W - 8,
            y + 17,
            esc(&short),
            ROW_H - 8,
            LABEL_W + w + 6,
            y + 17,
            esc(shown)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn fields(day: &str, month: &str, year: &str) -> DateFields {
        DateFields {
            day: day.into(),
            month: month.into(),
            year: year.into(),
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_of(d(2026, 12, 2)), d(2026, 11, 30));
        assert_eq!(week_of(d(2026, 11, 30)), d(2026, 11, 30));
        assert_eq!(week_of(d(2026, 12, 6)), d(2026, 11, 30));
    }

    #[test]
    fn the_range_is_checked_and_defaults_to_eight_weeks() {
        let today = d(2026, 12, 2);
        let none = DateFields::default();
        assert_eq!(
            check_range(&none, &none, today),
            Ok(Range {
                from: d(2026, 10, 12),
                to: today
            })
        );
        assert_eq!(
            check_range(
                &fields("1", "11", "2026"),
                &fields("30", "11", "2026"),
                today
            ),
            Ok(Range {
                from: d(2026, 11, 1),
                to: d(2026, 11, 30)
            })
        );
        let ids = |r: Result<Range, Vec<(&'static str, String)>>| -> Vec<&'static str> {
            r.expect_err("refused").iter().map(|p| p.0).collect()
        };
        assert_eq!(
            ids(check_range(&fields("31", "2", "2026"), &none, today)),
            ["from-day"]
        );
        assert_eq!(
            ids(check_range(
                &fields("x", "", ""),
                &fields("1", "13", "2026"),
                today
            )),
            ["from-day", "to-day"]
        );
        assert_eq!(
            ids(check_range(
                &fields("2", "12", "2026"),
                &fields("1", "12", "2026"),
                today
            )),
            ["to-day"]
        );
        assert_eq!(
            ids(check_range(
                &fields("1", "1", "2025"),
                &fields("2", "1", "2026"),
                today
            )),
            ["to-day"]
        );
        assert!(
            check_range(&fields("3", "1", "2025"), &fields("2", "1", "2026"), today).is_ok(),
            "365 days apart"
        );
    }

    #[test]
    fn outcome_codes_fall_into_attendance_categories() {
        assert_eq!(category("ATTC"), "Attended");
        assert_eq!(category("ATSH"), "Sent home");
        assert_eq!(category("ATSS"), "Sent home");
        assert_eq!(category("UACP"), "Failed to attend");
        assert_eq!(category("AFTC"), "Failed to comply");
        assert_eq!(category("AAME"), "Acceptable absence");
        assert_eq!(category("RSSR"), "Rescheduled");
        assert_eq!(category("NOPE"), "Other");
        assert!(CATEGORIES.contains(&category("ATFI")));
    }

    fn counted(
        date: NaiveDate,
        project: &str,
        code: &str,
        minutes: i64,
        step: &str,
        decision: &str,
    ) -> Counted {
        Counted {
            date,
            project: project.into(),
            code: code.into(),
            minutes,
            step: step.into(),
            decision: decision.into(),
        }
    }

    #[test]
    fn figures_count_only_the_range_by_project_week_category_and_state() {
        let list = [
            counted(d(2026, 12, 1), "Park", "ATTC", 180, "", ""),
            counted(d(2026, 12, 2), "Park", "ATSH", 90, "", ""),
            counted(d(2026, 12, 2), "Park", "UACP", 0, "Warning or referral", ""),
            counted(d(2026, 11, 24), "Church", "ATTC", 120, "", ""),
            counted(
                d(2026, 11, 25),
                "Church",
                "UACP",
                0,
                "Warning or referral",
                "Warning given",
            ),
            counted(d(2026, 10, 1), "Park", "ATTC", 600, "", ""),
        ];
        let f = figures(
            &list,
            Range {
                from: d(2026, 11, 23),
                to: d(2026, 12, 6),
            },
        );
        assert_eq!(f.hours.get(&("Park".into(), d(2026, 11, 30))), Some(&270));
        assert_eq!(f.hours.get(&("Church".into(), d(2026, 11, 23))), Some(&120));
        assert_eq!(
            f.hours_by_project.get("Park"),
            Some(&270),
            "the October session is outside the range"
        );
        assert_eq!(f.hours_by_week.values().sum::<i64>(), 390);
        assert_eq!(f.attendance.get(&(d(2026, 11, 30), "Attended")), Some(&1));
        assert_eq!(f.attendance.get(&(d(2026, 11, 30), "Sent home")), Some(&1));
        assert_eq!(f.attendance_total.get("Failed to attend"), Some(&2));
        assert_eq!(f.enforcement_by_state.get("Open"), Some(&1));
        assert_eq!(f.enforcement_by_state.get("Warning given"), Some(&1));
        let rows = attendance_rows(&f);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            ["2026-11-30", "1", "1", "1", "0", "0", "0", "0", "3"]
        );
        assert_eq!(hours_rows(&f)[1], ["Park", "2026-11-30", "270", "4.5"]);
    }

    #[test]
    fn csv_cells_cannot_be_formulas_and_are_quoted_when_needed() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("Park, north"), "\"Park, north\"");
        assert_eq!(csv_cell("plain 12"), "plain 12");
        assert_eq!(
            csv(&["A", "B"], &[vec!["1".into(), "=2".into()]]),
            "A,B\r\n1,'=2\r\n"
        );
    }

    #[test]
    fn hours_are_decimal_for_spreadsheets() {
        assert_eq!(decimal_hours(180), "3");
        assert_eq!(decimal_hours(150), "2.5");
        assert_eq!(decimal_hours(20), "0.33");
        assert_eq!(decimal_hours(0), "0");
    }

    #[test]
    fn the_chart_names_every_figure_and_escapes_labels() {
        let svg = bar_chart(
            "h",
            "Hours by week",
            &[
                ("<Park>".into(), 180, "3 h".into()),
                ("Church".into(), 0, "0 h".into()),
            ],
        );
        assert!(svg.starts_with("<svg role=\"img\" aria-labelledby=\"h-title h-desc\""));
        assert!(svg.contains("<title id=\"h-title\">Hours by week</title>"));
        assert!(svg.contains("<desc id=\"h-desc\">&lt;Park&gt;: 3 h; Church: 0 h</desc>"));
        assert!(!svg.contains("<Park>"));
        assert!(bar_chart("e", "Empty", &[]).contains("No figures in this range."));
    }
}
