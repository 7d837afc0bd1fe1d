//! Timelines: who is on call over a window, as periods.
//!
//! Everything is computed on segments — half-open intervals with one holder each — by stepping
//! from handoff to handoff and from restriction window to restriction window, never by sampling
//! time, so a one-year window costs a few thousand segments at most.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rotation::Turns;
use super::zone::clamp;
use super::{Schedule, ScheduleMode, TimeOff};

/// Someone on call for `[start, end)`.
///
/// `rotation` is the rotation that puts them there, or `None` for an override of the whole
/// schedule. `is_override` tells an override's time from the rotation's own. Adjacent periods
/// with the same user, rotation and origin are merged, so a period ends only where something a
/// person would notice changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub user: String,
    pub rotation: Option<String>,
    pub is_override: bool,
}

/// A half-open interval with one holder (`None`: nobody). Lists of segments are kept sorted
/// and non-overlapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seg<'a> {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub who: Option<&'a str>,
    pub is_override: bool,
}

impl<'a> Seg<'a> {
    pub(crate) fn base(start: DateTime<Utc>, end: DateTime<Utc>, who: Option<&'a str>) -> Self {
        Seg {
            start,
            end,
            who,
            is_override: false,
        }
    }
}

/// The parts of `segs` inside the sorted, disjoint `windows`.
pub(crate) fn mask<'a>(
    segs: &[Seg<'a>],
    windows: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Vec<Seg<'a>> {
    let mut out = Vec::with_capacity(segs.len().max(windows.len()));
    let (mut i, mut j) = (0, 0);
    while let (Some(seg), Some(&(ws, we))) = (segs.get(i), windows.get(j)) {
        let (start, end) = (seg.start.max(ws), seg.end.min(we));
        if start < end {
            out.push(Seg { start, end, ..*seg });
        }
        if seg.end <= we {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The range of `segs` overlapping `[start, end)`.
fn overlapping(segs: &[Seg<'_>], start: DateTime<Utc>, end: DateTime<Utc>) -> (usize, usize) {
    (
        segs.partition_point(|s| s.end <= start),
        segs.partition_point(|s| s.start < end),
    )
}

/// Gives `[piece.start, piece.end)` to `piece.who`, but only where `segs` already has a segment
/// (a rotation override replaces turn-holders where the rotation is in effect, and nowhere else).
fn overlay_within<'a>(segs: &mut Vec<Seg<'a>>, piece: Seg<'a>) {
    let (lo, hi) = overlapping(segs, piece.start, piece.end);
    if lo >= hi {
        return;
    }
    let mut replacement = Vec::with_capacity(hi - lo + 2);
    for seg in &segs[lo..hi] {
        if seg.start < piece.start {
            replacement.push(Seg {
                end: piece.start,
                ..*seg
            });
        }
        replacement.push(Seg {
            start: seg.start.max(piece.start),
            end: seg.end.min(piece.end),
            ..piece
        });
        if seg.end > piece.end {
            replacement.push(Seg {
                start: piece.end,
                ..*seg
            });
        }
    }
    segs.splice(lo..hi, replacement);
}

/// Puts `piece` on top of `segs`, trimming whatever it overlaps (a later override wins).
fn overlay<'a>(segs: &mut Vec<Seg<'a>>, piece: Seg<'a>) {
    let (lo, hi) = overlapping(segs, piece.start, piece.end);
    let mut replacement = Vec::with_capacity(3);
    if let Some(first) = segs.get(lo).filter(|s| lo < hi && s.start < piece.start) {
        replacement.push(Seg {
            end: piece.start,
            ..*first
        });
    }
    replacement.push(piece);
    if let Some(last) = hi
        .checked_sub(1)
        .and_then(|i| segs.get(i))
        .filter(|s| lo < hi && s.end > piece.end)
    {
        replacement.push(Seg {
            start: piece.end,
            ..*last
        });
    }
    segs.splice(lo..hi, replacement);
}

/// `segs` with the time of every holder who is away handed to their replacement (marked as an
/// override), or without one to nobody: a gap when `keep_gaps` (a rotation stays in effect, so a
/// lower layer can show through), else no segment at all (a schedule-wide override stops
/// counting). Where a user's time offs overlap, the later one wins.
fn apply_time_off<'a>(
    segs: Vec<Seg<'a>>,
    time_off: &'a [TimeOff],
    keep_gaps: bool,
) -> Vec<Seg<'a>> {
    if time_off.is_empty() {
        return segs;
    }
    let mut out = Vec::with_capacity(segs.len());
    for seg in segs {
        let Some(user) = seg.who else {
            out.push(seg);
            continue;
        };
        let away: Vec<&TimeOff> = time_off
            .iter()
            .filter(|o| o.user() == user && o.start() < seg.end && seg.start < o.end())
            .collect();
        if away.is_empty() {
            out.push(seg);
            continue;
        }
        let mut bounds = vec![seg.start, seg.end];
        for o in &away {
            bounds.extend([o.start().max(seg.start), o.end().min(seg.end)]);
        }
        bounds.sort_unstable();
        bounds.dedup();
        for pair in bounds.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let piece = match away.iter().rev().find(|o| o.covers(start)) {
                None => Seg { start, end, ..seg },
                Some(o) if o.replacement().is_some() || keep_gaps => Seg {
                    start,
                    end,
                    who: o.replacement(),
                    is_override: true,
                },
                Some(_) => continue,
            };
            out.push(piece);
        }
    }
    out
}

/// Periods for the segments with a holder that `keep` accepts, adjacent equal ones merged.
fn to_periods(
    segs: &[Seg<'_>],
    rotation: Option<&str>,
    keep: impl Fn(&Seg<'_>) -> bool,
) -> Vec<Period> {
    let mut out: Vec<Period> = Vec::new();
    for seg in segs.iter().filter(|s| keep(s)) {
        let Some(user) = seg.who else { continue };
        match out.last_mut() {
            Some(last)
                if last.end == seg.start
                    && last.user == user
                    && last.is_override == seg.is_override =>
            {
                last.end = seg.end;
            }
            _ => out.push(Period {
                start: seg.start,
                end: seg.end,
                user: user.to_string(),
                rotation: rotation.map(str::to_string),
                is_override: seg.is_override,
            }),
        }
    }
    out
}

/// Orders periods by start, then by rotation order (the order periods were produced in).
fn sort_by_start(periods: &mut [Period]) {
    periods.sort_by_key(|p| p.start);
}

/// Everything the timelines of one window are built from.
struct Layers<'a> {
    /// Per rotation, where it is in effect and who holds it, rotation overrides and time off
    /// applied.
    rotations: Vec<Vec<Seg<'a>>>,
    /// Overrides of the whole schedule, later ones on top, time off applied.
    schedule_wide: Vec<Seg<'a>>,
}

impl Schedule {
    fn base_segments(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Vec<Seg<'_>>> {
        self.rotations
            .iter()
            .map(|r| Turns::new(r, self.time_zone).coverage(from, to))
            .collect()
    }

    fn layers(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Layers<'_> {
        let mut rotations = self.base_segments(from, to);
        let mut schedule_wide = Vec::new();
        for (o, targets) in self.overrides.iter().zip(&self.override_targets) {
            let (start, end) = (o.start().max(from), o.end().min(to));
            if start >= end {
                continue;
            }
            let piece = Seg {
                start,
                end,
                who: o.user().name(),
                is_override: true,
            };
            match targets {
                None => overlay(&mut schedule_wide, piece),
                Some(indices) => {
                    for &i in indices {
                        if let Some(segs) = rotations.get_mut(i) {
                            overlay_within(segs, piece);
                        }
                    }
                }
            }
        }
        for segs in &mut rotations {
            *segs = apply_time_off(std::mem::take(segs), &self.time_off, true);
        }
        let schedule_wide = apply_time_off(schedule_wide, &self.time_off, false);
        Layers {
            rotations,
            schedule_wide,
        }
    }

    /// What each rotation does by itself in `[from, to)`, without overrides: the periods of its
    /// turn-holders inside its restriction (gaps are simply absent). Sorted by start, then by
    /// rotation order.
    pub fn base_timeline(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Period> {
        let (from, to) = (clamp(from), clamp(to));
        let mut out: Vec<Period> = self
            .rotations
            .iter()
            .zip(self.base_segments(from, to))
            .flat_map(|(r, segs)| to_periods(&segs, Some(r.name()), |_| true))
            .collect();
        sort_by_start(&mut out);
        out
    }

    /// Where overrides actually take effect in `[from, to)`, after later overrides have won over
    /// earlier ones: rotation overrides only where their rotation is in effect (with
    /// `rotation: Some`), schedule overrides over their whole window (`rotation: None`), and
    /// replacements for time off where the absent user would have been. An override to nobody
    /// leaves no period.
    pub fn override_timeline(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Period> {
        let (from, to) = (clamp(from), clamp(to));
        let layers = self.layers(from, to);
        let mut out: Vec<Period> = self
            .rotations
            .iter()
            .zip(&layers.rotations)
            .flat_map(|(r, segs)| to_periods(segs, Some(r.name()), |s| s.is_override))
            .collect();
        out.extend(to_periods(&layers.schedule_wide, None, |_| true));
        sort_by_start(&mut out);
        out
    }

    /// Who is on call in `[from, to)` after overrides, layers and modes: at every instant the
    /// users of the periods covering it are exactly [`Schedule::on_call_at`]. In cumulative
    /// mode every rotation's holder has a period (the same user may appear for two rotations);
    /// in layered mode only the winning layer's. Sorted by start, then by rotation order.
    pub fn final_timeline(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Period> {
        let (from, to) = (clamp(from), clamp(to));
        if from >= to {
            return Vec::new();
        }
        let layers = self.layers(from, to);

        // Between two consecutive boundaries nothing changes, so each elementary interval is
        // decided once, from the segment each layer has there.
        let mut bounds = vec![from, to];
        for segs in layers.rotations.iter().chain([&layers.schedule_wide]) {
            bounds.extend(segs.iter().flat_map(|s| [s.start, s.end]));
        }
        bounds.sort_unstable();
        bounds.dedup();

        type Key<'k> = (&'k str, Option<usize>, bool);
        let mut cursors = vec![0usize; layers.rotations.len()];
        let mut wide_cursor = 0usize;
        let mut out: Vec<(Key<'_>, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        // Periods still open at the previous boundary, to extend rather than split.
        let mut open: Vec<(Key<'_>, usize)> = Vec::new();
        for pair in bounds.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let mut active: Vec<Key<'_>> = Vec::new();
            if let Some(seg) = segment_at(&layers.schedule_wide, &mut wide_cursor, a) {
                active.extend(seg.who.map(|u| (u, None, true)));
            } else {
                let mut holder = |i: usize| {
                    let seg = segment_at(&layers.rotations[i], &mut cursors[i], a)?;
                    seg.who.map(|u| (u, Some(i), seg.is_override))
                };
                match self.mode {
                    ScheduleMode::Cumulative => {
                        active.extend((0..layers.rotations.len()).filter_map(&mut holder));
                    }
                    ScheduleMode::Layered => {
                        active.extend((0..layers.rotations.len()).rev().find_map(&mut holder));
                    }
                }
            }
            let mut still_open = Vec::with_capacity(active.len());
            for key in active {
                match open.iter().find(|(k, _)| *k == key) {
                    Some(&(_, idx)) => {
                        out[idx].2 = b;
                        still_open.push((key, idx));
                    }
                    None => {
                        out.push((key, a, b));
                        still_open.push((key, out.len() - 1));
                    }
                }
            }
            open = still_open;
        }
        out.into_iter()
            .map(|((user, rotation, is_override), start, end)| Period {
                start,
                end,
                user: user.to_string(),
                rotation: rotation
                    .and_then(|i| self.rotations.get(i))
                    .map(|r| r.name().to_string()),
                is_override,
            })
            .collect()
    }
}

/// The segment of `segs` holding instant `a`, moving `cursor` forward (instants only grow).
fn segment_at<'s, 'a>(
    segs: &'s [Seg<'a>],
    cursor: &mut usize,
    a: DateTime<Utc>,
) -> Option<&'s Seg<'a>> {
    while segs.get(*cursor).is_some_and(|s| s.end <= a) {
        *cursor += 1;
    }
    segs.get(*cursor).filter(|s| s.start <= a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(h * 3600, 0).expect("test instant")
    }

    fn seg(a: i64, b: i64, who: &str) -> Seg<'_> {
        Seg::base(t(a), t(b), Some(who))
    }

    #[test]
    fn mask_keeps_only_the_time_inside_windows() {
        let segs = [seg(0, 10, "a"), seg(10, 20, "b")];
        let windows = [(t(2), t(4)), (t(8), t(12)), (t(19), t(30))];
        let got: Vec<_> = mask(&segs, &windows)
            .iter()
            .map(|s| (s.start, s.end, s.who))
            .collect();
        assert_eq!(
            got,
            vec![
                (t(2), t(4), Some("a")),
                (t(8), t(10), Some("a")),
                (t(10), t(12), Some("b")),
                (t(19), t(20), Some("b")),
            ]
        );
    }

    #[test]
    fn overlay_within_replaces_only_covered_time() {
        let mut segs = vec![seg(0, 4, "a"), seg(6, 10, "b")];
        overlay_within(
            &mut segs,
            Seg {
                is_override: true,
                ..seg(2, 8, "z")
            },
        );
        let got: Vec<_> = segs.iter().map(|s| (s.start, s.end, s.who)).collect();
        assert_eq!(
            got,
            vec![
                (t(0), t(2), Some("a")),
                (t(2), t(4), Some("z")),
                (t(6), t(8), Some("z")),
                (t(8), t(10), Some("b")),
            ]
        );
    }

    #[test]
    fn overlay_lets_the_later_piece_win() {
        let mut segs = Vec::new();
        overlay(&mut segs, seg(0, 10, "a"));
        overlay(&mut segs, seg(3, 5, "b"));
        overlay(&mut segs, seg(12, 14, "c"));
        overlay(&mut segs, seg(4, 13, "d"));
        let got: Vec<_> = segs.iter().map(|s| (s.start, s.end, s.who)).collect();
        assert_eq!(
            got,
            vec![
                (t(0), t(3), Some("a")),
                (t(3), t(4), Some("b")),
                (t(4), t(13), Some("d")),
                (t(13), t(14), Some("c")),
            ]
        );
    }
}
