//! The *kajian teknis* for a bandwidth change (Juknis I.C): measurements of one contracted link
//! over a period, read from the appliance's store or from Prometheus ([`history`]), analysed
//! ([`analysis`]), turned into a recommendation among the tiers the provider lists
//! ([`recommend`]) and written as a [`crate::doc::Document`] in Bahasa Indonesia ([`document`]).
//!
//! The arithmetic (analysis, recommend, document, cost) is pure: no IO, no tokio. Only
//! `history` (and `synth`, which writes synthetic histories for the demo and tests) touch files
//! or the network.

use chrono::NaiveDate;

pub mod analysis;
pub mod cost;
pub mod document;
pub mod fmt;
pub mod history;
pub mod prometheus;
pub mod recommend;
pub mod synth;

#[cfg(test)]
mod tests;

pub use analysis::Analysis;
pub use history::{History, Point, Selection, Source, Target};
pub use recommend::{Recommendation, Targets, Verdict};

/// Seconds from UTC to WIB (Asia/Jakarta has no daylight saving time).
pub const WIB_OFFSET_S: i64 = 7 * 3600;

/// The period of a study: whole WIB days from `from` to `to`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A period, or an error when `from` is after `to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, Error> {
        if from > to {
            return Err(Error::Period(format!(
                "--from {from} is after --to {to}; the period runs from the first day to the last"
            )));
        }
        Ok(Self { from, to })
    }

    /// The first instant (Unix seconds): 00:00 WIB of `from`.
    pub fn start_s(&self) -> i64 {
        wib_midnight(self.from)
    }

    /// The end (exclusive, Unix seconds): 00:00 WIB of the day after `to`.
    pub fn end_s(&self) -> i64 {
        wib_midnight(self.to) + 86_400
    }

    /// Number of days in the period.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// 00:00 WIB of `day`, in Unix seconds.
pub fn wib_midnight(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |d| d.and_utc().timestamp())
        - WIB_OFFSET_S
}

/// The WIB day of an instant.
pub fn wib_day(t_s: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(t_s + WIB_OFFSET_S, 0)
        .map_or(NaiveDate::MIN, |d| d.date_naive())
}

/// Hour of the week in WIB: 0 = Monday 00:00–01:00 ... 167 = Sunday 23:00–24:00.
pub fn wib_hour_of_week(t_s: i64) -> usize {
    let local = t_s + WIB_OFFSET_S;
    // 1970-01-01 was a Thursday (weekday 3 counting from Monday = 0).
    let day = local.div_euclid(86_400);
    let weekday = (day + 3).rem_euclid(7);
    let hour = local.rem_euclid(86_400) / 3600;
    (weekday * 24 + hour) as usize
}

/// Why a study could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Period(String),
    #[error("link `{0}` is not in the topology; contracted links: {1}")]
    UnknownLink(String, String),
    #[error(
        "link `{0}` lists no bandwidth tiers; add `tiers:` (bandwidth and cost_per_month) to it in the topology so the study can choose among them"
    )]
    NoTiers(String),
    #[error(
        "link `{0}` has no contracted bandwidth; add `bandwidth:` (e.g. `512 Kbps`) to it in the topology"
    )]
    NoContract(String),
    #[error(
        "no contracted link with tiers in the topology; add `bandwidth:` and `tiers:` to the WAN link, or name one with --link"
    )]
    NoLink,
    #[error("{0}")]
    History(#[from] history::Error),
    #[error(
        "no measurements of link `{link}` between {from} and {to} in {source_name}; the study needs utilisation or probe data in that period"
    )]
    NoData {
        link: String,
        from: NaiveDate,
        to: NaiveDate,
        source_name: String,
    },
}

/// Choices of a study beyond the period.
#[derive(Clone, Debug)]
pub struct Options {
    /// The link; `None` picks the contracted link with tiers.
    pub link: Option<String>,
    /// Declared growth per year, percent; `None` uses the measured trend.
    pub growth_percent: Option<f64>,
    pub horizon_months: u32,
    /// Time within which an answer should arrive when every application asks at once, seconds.
    pub response_target_s: f64,
    pub targets: Targets,
    /// The day the document is made (WIB).
    pub today: NaiveDate,
}

impl Options {
    /// Defaults: the contracted link with tiers, the measured trend, 12 months, 2 s.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            link: None,
            growth_percent: None,
            horizon_months: 12,
            response_target_s: 2.0,
            targets: Targets::default(),
            today,
        }
    }
}

/// A finished study.
#[derive(Clone, Debug)]
pub struct Study {
    pub selection: Selection,
    pub analysis: Analysis,
    pub recommendation: Recommendation,
    pub document: crate::doc::Document,
}

/// The link to study: the one named, else the first contracted link with tiers.
pub fn pick_link<'a>(
    t: &'a crate::topology::Topology,
    name: Option<&str>,
) -> Result<&'a crate::topology::Link, Error> {
    let link = match name {
        Some(n) => t.links.iter().find(|l| l.id.as_str() == n).ok_or_else(|| {
            Error::UnknownLink(
                n.to_string(),
                t.contracted_links()
                    .map(|l| l.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?,
        None => t
            .contracted_links()
            .find(|l| !l.tiers.is_empty())
            .ok_or(Error::NoLink)?,
    };
    if link.bandwidth.is_none() {
        return Err(Error::NoContract(link.id.to_string()));
    }
    if link.tiers.is_empty() {
        return Err(Error::NoTiers(link.id.to_string()));
    }
    Ok(link)
}

/// The selection for `link` by the topology and the profiles' kinds.
pub fn selection(
    t: &crate::topology::Topology,
    link: &crate::topology::Link,
    kind_of: &dyn Fn(&str) -> Option<String>,
) -> Selection {
    Selection::for_link(t, &link.id, kind_of)
}

/// Read, analyse, recommend and write the document.
pub fn run(
    t: &crate::topology::Topology,
    kind_of: &dyn Fn(&str) -> Option<String>,
    source: &dyn Source,
    period: Period,
    opts: &Options,
) -> Result<Study, Error> {
    let link = pick_link(t, opts.link.as_deref())?;
    let sel = selection(t, link, kind_of);
    let mut h = source.load(&sel, &period)?;
    // Planned work on the link (declared, or made on the dashboard) is not its behaviour.
    let (from, to) = (
        chrono::DateTime::from_timestamp(period.start_s(), 0).unwrap_or_default(),
        chrono::DateTime::from_timestamp(period.end_s(), 0).unwrap_or_default(),
    );
    let planned: Vec<(i64, i64)> = t
        .maintenance
        .planned(
            t,
            crate::topology::maintenance::Subject::Link(link.id.as_str()),
            from,
            to,
        )
        .into_iter()
        .map(|(a, b)| (a.timestamp(), b.timestamp()))
        .collect();
    h.without_planned(&planned);
    if h.is_empty() {
        return Err(Error::NoData {
            link: link.id.to_string(),
            from: period.from,
            to: period.to,
            source_name: source.describe(),
        });
    }
    let contracted = link.bandwidth.map_or(0, |b| b.bps()) as f64;
    let inputs = analysis::Inputs {
        period,
        contracted_bps: contracted,
        apps: t
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, crate::topology::NodeKind::App(_)))
            .count(),
        cost: cost::lookup(cost::Assumptions::default()),
        growth_percent: opts.growth_percent,
        horizon_months: opts.horizon_months,
        response_target_s: opts.response_target_s,
    };
    let a = analysis::analyse(&h, &inputs);
    let r = recommend::recommend(&a, &link.tiers, opts.targets);
    let document = document::build(
        &document::Subject {
            topology: t,
            link,
            selection: &sel,
            today: opts.today,
        },
        &a,
        &r,
    );
    Ok(Study {
        selection: sel,
        analysis: a,
        recommendation: r,
        document,
    })
}
