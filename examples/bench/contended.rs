//! The contended phases: concurrent PATCHes of one user, and concurrent one-member PATCHes of
//! one group, at each concurrency of `CONCURRENCIES` whatever `--concurrency` says; each is
//! followed by a phase that checks that no change was lost.
//!
//! The PATCHes of one user replace, in turn, one of the `ATTRIBUTES`, each with a value naming
//! its PATCH. Every answer, and a GET of the user at the end, shows the whole user; a change
//! is lost if an answer shows, for an attribute, a value that a PATCH answered before that
//! request was sent had already replaced: any order in which the server may have applied the
//! PATCHes puts the one answered first before the one sent after. The PATCHes of one group add
//! one user each; at the end each must be a member, by the membership filter of an IdP.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::run::{Call, Phase};
use crate::workload::{PATCH_OP_URN, Workload, expect_eq, query_value};

/// The concurrencies of the contended phases.
pub const CONCURRENCIES: [usize; 2] = [32, 100];

/// The phases of each concurrency: the PATCHes of one user and their check, the PATCHes of one
/// group and their check.
static NAMES: [[&str; 4]; 2] = [
    [
        "patch-user-32",
        "patch-user-32-verify",
        "patch-group-32",
        "patch-group-32-verify",
    ],
    [
        "patch-user-100",
        "patch-user-100-verify",
        "patch-group-100",
        "patch-group-100-verify",
    ],
];

/// The attributes that the PATCHes of one user replace in turn: the PATCH path and where the
/// value is in the user.
const ATTRIBUTES: [(&str, &str); 12] = [
    ("title", "/title"),
    ("nickName", "/nickName"),
    ("userType", "/userType"),
    ("displayName", "/displayName"),
    ("name.middleName", "/name/middleName"),
    ("name.honorificPrefix", "/name/honorificPrefix"),
    ("name.honorificSuffix", "/name/honorificSuffix"),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/employeeNumber",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
        "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/costCenter",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
        "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/organization",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division",
        "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/division",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
    ),
];

/// The PATCHes of one user and their check, for each concurrency.
pub fn user_phases(w: &Arc<Workload>) -> Vec<Phase> {
    let mut phases = Vec::new();
    for (k, &concurrency) in CONCURRENCIES.iter().enumerate() {
        let [patch, verify, ..] = NAMES[k];
        let race = Arc::new(UserRace::new(
            format!("c{concurrency}-{}", w.run_id),
            w.contended_ops,
        ));
        // Another user for each concurrency, where there are enough.
        let user = k % w.users;
        let path = {
            let w = w.clone();
            move || Ok::<_, String>(format!("/Users/{}", w.id(user)?))
        };

        let requests = {
            let (race, path) = (race.clone(), path.clone());
            move |i: usize| {
                race.started[i].get_or_init(Instant::now);
                let (attribute, _) = ATTRIBUTES[i % ATTRIBUTES.len()];
                let body = json!({
                    "schemas": [PATCH_OP_URN],
                    "Operations": [{"op": "Replace", "path": attribute, "value": race.value(i)}],
                });
                Ok(Call::new(Method::PATCH, path()?, StatusCode::OK).with_body(body))
            }
        };
        let answers = {
            let race = race.clone();
            move |i, body: Value| race.observe(i, &body)
        };
        phases.push(
            Phase::per_item(patch, w.contended_ops, requests)
                .check(answers)
                .workers(concurrency)
                .needs(&["create"]),
        );

        let started = Arc::new(OnceLock::new());
        let get = {
            let started = started.clone();
            move |_| {
                started.get_or_init(Instant::now);
                Ok(Call::new(Method::GET, path()?, StatusCode::OK))
            }
        };
        let last = move |_: usize, body: Value| {
            let started = *started.get().expect("the request sets it");
            race.lost_changes(started, &race.state(&body))
        };
        phases.push(
            Phase::per_item(verify, 1, get)
                .check(last)
                .needs(std::slice::from_ref(&NAMES[k][0]))
                .verifying(),
        );
    }
    phases
}

/// The one-member PATCHes of one group and the check of its members, for each concurrency.
pub fn group_phases(w: &Arc<Workload>) -> Vec<Phase> {
    let mut phases = Vec::new();
    let ops = w.contended_ops.min(w.users);
    for (k, &concurrency) in CONCURRENCIES.iter().enumerate() {
        let [.., patch, verify] = NAMES[k];
        let g = w.plan.contended_group(k);
        let add = {
            let w = w.clone();
            move |i| {
                let body = json!({
                    "schemas": [PATCH_OP_URN],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": w.id(i)?}]}],
                });
                Ok(Call::new(
                    Method::PATCH,
                    format!("/Groups/{}", w.group_id(g)?),
                    StatusCode::NO_CONTENT,
                )
                .with_body(body))
            }
        };
        phases.push(
            Phase::per_item(patch, ops, add)
                .workers(concurrency)
                .needs(&["create", "group-create"]),
        );

        let (wr, wc) = (w.clone(), w.clone());
        let is_member = move |i: usize| {
            let filter = format!(
                "id eq \"{}\" and members eq \"{}\"",
                wr.group_id(g)?,
                wr.id(i)?
            );
            let path = format!("/Groups?filter={}", query_value(&filter));
            Ok(Call::new(Method::GET, path, StatusCode::OK))
        };
        let member = move |_: usize, body: Value| {
            expect_eq("totalResults", &body["totalResults"], &json!(1))?;
            expect_eq(
                "Resources[0].id",
                &body["Resources"][0]["id"],
                &json!(wc.group_id(g)?),
            )
        };
        phases.push(
            Phase::per_item(verify, ops, is_member)
                .check(member)
                .needs(std::slice::from_ref(&NAMES[k][2]))
                .verifying(),
        );
    }
    phases
}

/// What the answer of one PATCH showed.
struct Observed {
    /// When the request was about to be sent: no earlier than this.
    sent: Instant,
    /// When the answer had been read: no later than this.
    answered: Instant,
    /// The PATCH whose value each attribute held (`None`: none of this phase).
    state: Vec<Option<usize>>,
}

/// The concurrent PATCHes of one user: what was sent when, and what each answer showed.
struct UserRace {
    /// The prefix of the values of this phase: `<tag>-<PATCH number>`.
    tag: String,
    started: Vec<OnceLock<Instant>>,
    observed: Vec<OnceLock<Observed>>,
}

impl UserRace {
    fn new(tag: String, ops: usize) -> Self {
        Self {
            tag,
            started: (0..ops).map(|_| OnceLock::new()).collect(),
            observed: (0..ops).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The value PATCH `i` sets.
    fn value(&self, i: usize) -> String {
        format!("{}-{i}", self.tag)
    }

    /// The PATCH whose value each attribute of `user` holds.
    fn state(&self, user: &Value) -> Vec<Option<usize>> {
        ATTRIBUTES
            .iter()
            .map(|(_, pointer)| {
                user.pointer(pointer)
                    .and_then(Value::as_str)
                    .and_then(|v| v.strip_prefix(self.tag.as_str())?.strip_prefix('-'))
                    .and_then(|i| i.parse().ok())
            })
            .collect()
    }

    /// Keeps what the answer to PATCH `i` shows, which must hold its own change.
    fn observe(&self, i: usize, user: &Value) -> Result<(), String> {
        let answered = Instant::now();
        let state = self.state(user);
        let attribute = i % ATTRIBUTES.len();
        if state[attribute] != Some(i) {
            let (path, pointer) = ATTRIBUTES[attribute];
            return Err(format!(
                "the answer lacks its own change of {path}: {}",
                user.pointer(pointer).unwrap_or(&Value::Null)
            ));
        }
        let sent = *self.started[i].get().expect("the request sets it");
        let _ = self.observed[i].set(Observed {
            sent,
            answered,
            state,
        });
        Ok(())
    }

    /// Checks every answer, and `last` (the user as a GET sent at `sent` after all PATCHes
    /// found it), for changes lost: an attribute holding a value that a PATCH answered before
    /// the request was sent had already replaced.
    fn lost_changes(&self, sent: Instant, last: &[Option<usize>]) -> Result<(), String> {
        let n = ATTRIBUTES.len();
        // For each attribute, its PATCHes that were answered, by the time of the answer, each
        // with the latest sending of those answered by then.
        let mut answered: Vec<Vec<(Instant, Instant)>> = vec![Vec::new(); n];
        for (i, observed) in self.observed.iter().enumerate() {
            if let Some(o) = observed.get() {
                answered[i % n].push((o.answered, o.sent));
            }
        }
        for times in &mut answered {
            times.sort_unstable();
            let mut latest = None;
            for (_, sent) in times.iter_mut() {
                latest = latest.max(Some(*sent));
                *sent = latest.expect("just set");
            }
        }
        let readers = self
            .observed
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                o.get()
                    .map(|o| (format!("PATCH {i}"), o.sent, &o.state[..]))
            })
            .chain([("the final GET".to_owned(), sent, last)]);
        let (mut lost, mut first) = (0, None);
        for (reader, sent, state) in readers {
            for (a, times) in answered.iter().enumerate() {
                // The latest sending of a PATCH of attribute a answered before this was sent.
                let before = times.partition_point(|(answered, _)| *answered < sent);
                let Some(&(_, replaced_after)) = before.checked_sub(1).map(|b| &times[b]) else {
                    continue;
                };
                let problem = match state[a] {
                    None => Some("the value from before the phase".to_owned()),
                    Some(j) if j % n != a || j >= self.observed.len() => Some(format!(
                        "the value of PATCH {j}, which changed another attribute"
                    )),
                    Some(j) => self.observed[j]
                        .get()
                        .filter(|o| o.answered < replaced_after)
                        .map(|_| format!("the value of PATCH {j}, which a later one replaced")),
                };
                if let Some(problem) = problem {
                    lost += 1;
                    first.get_or_insert_with(|| {
                        format!("{reader} saw {} hold {problem}", ATTRIBUTES[a].0)
                    });
                }
            }
        }
        match first {
            None => Ok(()),
            Some(first) => Err(format!("{lost} changes lost, e.g. {first}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A race of `ops` PATCHes, PATCH i sent at `times(i).0` ms and answered at `times(i).1`,
    /// each answer showing `state(i)`.
    fn race(
        ops: usize,
        times: impl Fn(usize) -> (u64, u64),
        state: impl Fn(usize) -> Vec<Option<usize>>,
    ) -> (UserRace, Instant) {
        let race = UserRace::new("t".to_owned(), ops);
        let zero = Instant::now();
        let at = |ms| zero + Duration::from_millis(ms);
        for i in 0..ops {
            let (sent, answered) = times(i);
            race.started[i].set(at(sent)).unwrap();
            let observed = Observed {
                sent: at(sent),
                answered: at(answered),
                state: state(i),
            };
            assert!(race.observed[i].set(observed).is_ok());
        }
        (race, zero)
    }

    /// The user after PATCHes `0..=i` applied in order.
    fn serial(i: usize) -> Vec<Option<usize>> {
        let n = ATTRIBUTES.len();
        (0..n).map(|a| (0..=i).rev().find(|j| j % n == a)).collect()
    }

    fn one_after_another(i: usize) -> (u64, u64) {
        (10 * i as u64, 10 * i as u64 + 5)
    }

    #[test]
    fn patches_applied_one_after_another_lose_nothing() {
        let (race, zero) = race(30, one_after_another, serial);
        let end = zero + Duration::from_secs(1);
        assert_eq!(race.lost_changes(end, &serial(29)), Ok(()));
    }

    #[test]
    fn an_answer_that_shows_a_replaced_value_is_a_lost_change() {
        // PATCH 20 (of attribute 8) shows attribute 3 as PATCH 3 left it, though PATCH 15 had
        // replaced it and been answered before PATCH 20 was sent.
        let state = |i| {
            let mut state = serial(i);
            if i == 20 {
                state[3] = Some(3);
            }
            state
        };
        let (race, zero) = race(30, one_after_another, state);
        let end = zero + Duration::from_secs(1);
        let lost = race.lost_changes(end, &serial(29)).unwrap_err();
        assert!(
            lost.starts_with("1 changes lost, e.g. PATCH 20 saw"),
            "{lost}"
        );
    }

    #[test]
    fn a_final_user_without_the_last_change_is_a_lost_change() {
        let (race, zero) = race(30, one_after_another, serial);
        let mut last = serial(29);
        last[0] = Some(12);
        let end = zero + Duration::from_secs(1);
        let lost = race.lost_changes(end, &last).unwrap_err();
        assert!(lost.contains("the final GET saw title hold"), "{lost}");
        last[0] = None;
        assert!(race.lost_changes(end, &last).is_err());
    }

    #[test]
    fn concurrent_patches_of_one_attribute_may_end_in_either_order() {
        // PATCH 0 and PATCH 12 (both of title) overlap: either may be applied last.
        let times = |i| {
            if i == 0 {
                (0, 100)
            } else {
                (10 + i as u64, 20 + i as u64)
            }
        };
        let state = |i| {
            let mut state = serial(i);
            if i >= 12 {
                state[0] = Some(0);
            }
            state
        };
        let (race, zero) = race(13, times, state);
        let mut last = serial(12);
        last[0] = Some(0);
        let end = zero + Duration::from_secs(1);
        assert_eq!(race.lost_changes(end, &last), Ok(()));
    }
}
