//! The workload of an identity provider: the users and groups of one run, and the phases that
//! create, read, change, list and delete them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::contended;
use crate::run::{Call, Item, Phase, Step, Target};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The page size of the list phase (AWS's maximum).
const PAGE_SIZE: usize = 100;

/// The most membership changes one PatchGroup may make (AWS's limit).
const MEMBER_BATCH: usize = 100;

/// The groups of one run: `groups` groups of `per_group` members each, one group of `big`
/// members if `big` is not 0, and one group for each contended phase of groups.
///
/// Group `g < groups` holds users `(g * per_group + j) % users` for `j < per_group`; the big
/// group, numbered `groups`, holds users `0..big`; the contended groups come last.
#[derive(Clone, Copy)]
pub struct GroupPlan {
    pub groups: usize,
    pub per_group: usize,
    pub big: usize,
}

impl GroupPlan {
    /// The plan, with member counts clamped to the number of users (a group cannot hold a
    /// user twice).
    pub fn new(users: usize, groups: usize, per_group: usize, big: usize) -> Self {
        Self {
            groups,
            per_group: per_group.min(users),
            big: big.min(users),
        }
    }

    /// The regular groups and the big one: the groups the count phases count.
    fn counted_groups(&self) -> usize {
        self.groups + usize::from(self.big > 0)
    }

    /// The group of the contended phase `k` (of `contended::CONCURRENCIES`).
    pub fn contended_group(&self, k: usize) -> usize {
        self.counted_groups() + k
    }

    fn all_groups(&self) -> usize {
        self.counted_groups() + contended::CONCURRENCIES.len()
    }

    fn batches_per_group(&self) -> usize {
        self.per_group.div_ceil(MEMBER_BATCH)
    }

    /// The PATCHes that fill (or empty) the regular groups.
    fn regular_batches(&self) -> usize {
        self.groups * self.batches_per_group()
    }

    /// Batch `i` of the regular groups: the group and its users.
    fn regular_batch(&self, users: usize, i: usize) -> (usize, Vec<usize>) {
        let (g, b) = (i / self.batches_per_group(), i % self.batches_per_group());
        let js = b * MEMBER_BATCH..((b + 1) * MEMBER_BATCH).min(self.per_group);
        (g, js.map(|j| (g * self.per_group + j) % users).collect())
    }

    /// Batch `b` of the big group: the group and its users.
    fn big_batch(&self, b: usize) -> (usize, Vec<usize>) {
        (
            self.groups,
            (b * MEMBER_BATCH..((b + 1) * MEMBER_BATCH).min(self.big)).collect(),
        )
    }

    /// The members of counted group `g` once both add phases are over.
    fn members(&self, g: usize) -> usize {
        if g == self.groups {
            self.big
        } else {
            self.per_group
        }
    }

    /// The group the membership checks ask about, with users `0..n` its members: the big one
    /// if there is one, else the first.
    fn checked_group(&self) -> Option<(usize, usize)> {
        match (self.big, self.groups) {
            (0, 0) => None,
            (0, _) => Some((0, self.per_group)),
            (big, groups) => Some((groups, big)),
        }
    }
}

/// The users and groups of one run and what the phases learn about them.
pub struct Workload {
    /// Makes this run's names unique, so that runs on one database or tenant do not collide.
    pub run_id: String,
    pub users: usize,
    /// The server's id of each user, set by the create phase.
    ids: Vec<OnceLock<String>>,
    pub plan: GroupPlan,
    /// The server's id of each group, set by the group-create phase.
    group_ids: Vec<OnceLock<String>>,
    /// The operations of each contended phase.
    pub contended_ops: usize,
}

impl Workload {
    pub fn new(users: usize, plan: GroupPlan, contended_ops: usize) -> Self {
        Self {
            run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            users,
            ids: (0..users).map(|_| OnceLock::new()).collect(),
            plan,
            group_ids: (0..plan.all_groups()).map(|_| OnceLock::new()).collect(),
            contended_ops,
        }
    }

    fn group_name(&self, g: usize) -> String {
        let plan = &self.plan;
        if g < plan.groups {
            format!("group{g}-{}", self.run_id)
        } else if g < plan.counted_groups() {
            format!("biggroup-{}", self.run_id)
        } else {
            let concurrency = contended::CONCURRENCIES[g - plan.counted_groups()];
            format!("contended{concurrency}-{}", self.run_id)
        }
    }

    pub fn group_id(&self, g: usize) -> Result<&str, String> {
        self.group_ids[g]
            .get()
            .map(String::as_str)
            .ok_or_else(|| format!("group {g} has no id (its create failed)"))
    }

    pub fn user_name(&self, i: usize) -> String {
        format!("user{i}-{}@example.com", self.run_id)
    }

    fn is_ours(&self, user_name: &str) -> bool {
        user_name.ends_with(&format!("-{}@example.com", self.run_id))
    }

    pub fn id(&self, i: usize) -> Result<&str, String> {
        self.ids[i]
            .get()
            .map(String::as_str)
            .ok_or_else(|| format!("user {i} has no id (its create failed)"))
    }

    /// A user as an IdP provisions it: every attribute an IdP usually maps.
    pub fn user_body(&self, i: usize) -> Value {
        let (given, family) = (format!("Given{i}"), format!("Family{i}"));
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "userName": self.user_name(i),
            "externalId": format!("ext-{}-{i}", self.run_id),
            "name": {
                "formatted": format!("{given} {family}"),
                "givenName": given,
                "familyName": family,
            },
            "displayName": format!("{given} {family}"),
            "emails": [{"value": self.user_name(i), "type": "work", "primary": true}],
            "title": "Developer",
            "active": true,
            (ENTERPRISE_URN): {"department": format!("Department {}", i % 10)},
        })
    }
}

pub fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub fn expect_eq(what: &str, got: &Value, want: &Value) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} is {got}, expected {want}"))
    }
}

/// All phases, in the order they run: the group phases need the users, so they come between
/// `list` and `delete`.
pub fn phases(w: &Arc<Workload>) -> Vec<Phase> {
    let mut phases = user_phases(w);
    let delete = phases.pop();
    phases.extend(group_phases(w));
    phases.extend(delete);
    phases
}

/// The user phases, in the order they run; `delete` is the last.
fn user_phases(w: &Arc<Workload>) -> Vec<Phase> {
    let n = w.users;
    let create = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("create", n, move |i| {
            Ok(Call::new(Method::POST, "/Users", StatusCode::CREATED).with_body(w.user_body(i)))
        })
        .check(move |i, body| {
            let id = body["id"].as_str().ok_or("the response has no id")?;
            wc.ids[i].get_or_init(|| id.to_owned());
            Ok(())
        })
    };

    let lookup = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("lookup", n, move |i| {
            let filter = format!("userName eq \"{}\"", w.user_name(i));
            let path = format!("/Users?filter={}", query_value(&filter));
            Ok(Call::new(Method::GET, path, StatusCode::OK))
        })
        .check(move |i, body| {
            expect_eq("totalResults", &body["totalResults"], &json!(1))?;
            expect_eq(
                "Resources[0].id",
                &body["Resources"][0]["id"],
                &json!(wc.id(i)?),
            )
        })
        .needs(&["create"])
    };

    let get = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("get", n, move |i| {
            Ok(Call::new(
                Method::GET,
                format!("/Users/{}", w.id(i)?),
                StatusCode::OK,
            ))
        })
        .check(move |i, body| expect_eq("id", &body["id"], &json!(wc.id(i)?)))
        .needs(&["create"])
    };

    let patch = {
        let w = w.clone();
        let body = json!({
            "schemas": [PATCH_OP_URN],
            "Operations": [
                {"op": "Replace", "path": "title", "value": "Engineer"},
                {"op": "Replace", "path": "active", "value": "False"},
            ],
        });
        Phase::per_item("patch", n, move |i| {
            Ok(Call::new(
                Method::PATCH,
                format!("/Users/{}", w.id(i)?),
                StatusCode::OK,
            )
            .with_body(body.clone()))
        })
        .check(|_, body| {
            expect_eq("title", &body["title"], &json!("Engineer"))?;
            expect_eq("active", &body["active"], &json!(false))
        })
        .needs(&["create"])
    };

    let list = list_phase(w).needs(&["create"]);

    let delete = {
        let w = w.clone();
        Phase::per_item("delete", n, move |i| {
            Ok(Call::new(
                Method::DELETE,
                format!("/Users/{}", w.id(i)?),
                StatusCode::NO_CONTENT,
            ))
        })
        .needs(&["create"])
    };

    let mut phases = vec![create, lookup, get, patch];
    phases.extend(contended::user_phases(w));
    phases.extend([list, delete]);
    phases
}

/// The group phases, in the order they run, leaving out those that have no work.
fn group_phases(w: &Arc<Workload>) -> Vec<Phase> {
    let plan = w.plan;
    let create = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("group-create", plan.all_groups(), move |g| {
            let body = json!({
                "schemas": [GROUP_URN],
                "displayName": w.group_name(g),
                "members": [],
            });
            Ok(Call::new(Method::POST, "/Groups", StatusCode::CREATED).with_body(body))
        })
        .check(move |g, body| {
            let id = body["id"].as_str().ok_or("the response has no id")?;
            wc.group_ids[g].get_or_init(|| id.to_owned());
            expect_eq(
                "displayName",
                &body["displayName"],
                &json!(wc.group_name(g)),
            )
        })
    };

    let member_add = membership_phase("member-add", w, "add", plan.regular_batches(), {
        let users = w.users;
        move |i| plan.regular_batch(users, i)
    })
    .needs(&["create", "group-create"]);
    let big_add = membership_phase(
        "big-group-add",
        w,
        "add",
        plan.big.div_ceil(MEMBER_BATCH),
        move |b| plan.big_batch(b),
    )
    .needs(&["create", "group-create"]);
    let count_added = count_phase("count-added", w, move |g| plan.members(g))
        .needs(&["member-add", "big-group-add"]);

    let check = plan.checked_group().map(|(checked, members)| {
        let (w, wc) = (w.clone(), w.clone());
        // Item i asks about user i if the group holds all users or none; else even items ask
        // about its members and odd items about the others, each half spread over all of them.
        let users = w.users;
        let user = move |i: usize| match members {
            m if m == users || m == 0 => i,
            m if i.is_multiple_of(2) => (i / 2) % m,
            m => m + (i / 2) % (users - m),
        };
        Phase::per_item("member-check", users, move |i| {
            let filter = format!(
                "id eq \"{}\" and members eq \"{}\"",
                w.group_id(checked)?,
                w.id(user(i))?
            );
            let path = format!("/Groups?filter={}", query_value(&filter));
            Ok(Call::new(Method::GET, path, StatusCode::OK))
        })
        .check(move |i, body| {
            if user(i) < members {
                expect_eq("totalResults", &body["totalResults"], &json!(1))?;
                expect_eq(
                    "Resources[0].id",
                    &body["Resources"][0]["id"],
                    &json!(wc.group_id(checked)?),
                )
            } else {
                expect_eq("totalResults", &body["totalResults"], &json!(0))
            }
        })
        .needs(&["member-add", "big-group-add"])
    });

    let member_remove = membership_phase("member-remove", w, "remove", plan.regular_batches(), {
        let users = w.users;
        move |i| plan.regular_batch(users, i)
    })
    .needs(&["member-add"]);
    let count_removed = count_phase("count-removed", w, move |g| {
        if g == plan.groups { plan.big } else { 0 }
    })
    .needs(&["member-remove", "big-group-add"]);

    let delete = {
        let w = w.clone();
        Phase::per_item("group-delete", plan.all_groups(), move |g| {
            Ok(Call::new(
                Method::DELETE,
                format!("/Groups/{}", w.group_id(g)?),
                StatusCode::NO_CONTENT,
            ))
        })
        .needs(&["group-create"])
    };

    let (regular, big, counted) = (
        plan.regular_batches() > 0,
        plan.big > 0,
        plan.counted_groups() > 0,
    );
    let mut phases: Vec<Phase> = [(create, true), (member_add, regular), (big_add, big)]
        .into_iter()
        .filter_map(|(phase, has_work)| has_work.then_some(phase))
        .collect();
    phases.extend(contended::group_phases(w));
    phases.extend(
        [
            (Some(count_added), counted),
            (check, true),
            (Some(member_remove), regular),
            (Some(count_removed), counted),
            (Some(delete), true),
        ]
        .into_iter()
        .filter_map(|(phase, has_work)| phase.filter(|_| has_work)),
    );
    phases
}

/// One PATCH per item, adding or removing (`op`) the users of `batch(i)` to or from a group:
/// `batch` answers the group and the users.
fn membership_phase(
    name: &'static str,
    w: &Arc<Workload>,
    op: &'static str,
    items: usize,
    batch: impl Fn(usize) -> (usize, Vec<usize>) + Send + Sync + 'static,
) -> Phase {
    let w = w.clone();
    Phase::per_item(name, items, move |i| {
        let (g, users) = batch(i);
        let members = users
            .into_iter()
            .map(|u| Ok(json!({"value": w.id(u)?})))
            .collect::<Result<Vec<_>, String>>()?;
        let body = json!({
            "schemas": [PATCH_OP_URN],
            "Operations": [{"op": op, "path": "members", "value": members}],
        });
        Ok(Call::new(
            Method::PATCH,
            format!("/Groups/{}", w.group_id(g)?),
            StatusCode::NO_CONTENT,
        )
        .with_body(body))
    })
}

/// Checks that each regular group and the big one has `expected(g)` members, by paging through
/// its members with cursors (`totalResults` counts one page, as AWS's does): one operation per
/// group, however many pages.
fn count_phase(
    name: &'static str,
    w: &Arc<Workload>,
    expected: impl Fn(usize) -> usize + Send + Sync + 'static,
) -> Phase {
    let (w, expected) = (w.clone(), Arc::new(expected));
    Phase::with_job(name, move |target| {
        Arc::new(move |g| {
            let (w, target, expected) = (w.clone(), target.clone(), expected.clone());
            Box::pin(async move {
                if g >= w.plan.counted_groups() {
                    return Item::Done;
                }
                let group = match w.group_id(g) {
                    Ok(id) => id.to_owned(),
                    Err(e) => return Item::Skipped(e),
                };
                let started = Instant::now();
                let counted = count_members(&target, &group).await;
                let outcome = counted.and_then(|n| match expected(g) {
                    want if n == want => Ok(()),
                    want => Err(format!("group {g} has {n} members, expected {want}")),
                });
                Item::Timed(started.elapsed(), outcome)
            })
        })
    })
}

/// The members of a group, counted over the cursor pages of `groups.value eq`.
async fn count_members(target: &Target, group: &str) -> Result<usize, String> {
    let filter = query_value(&format!("groups.value eq \"{group}\""));
    let (mut count, mut cursor) = (0, String::new());
    loop {
        let path = format!(
            "/Users?filter={filter}&count={PAGE_SIZE}&cursor={}",
            query_value(&cursor)
        );
        let call = Call::new(Method::GET, path, StatusCode::OK);
        let (_, answer) = target.send(&call).await;
        let (status, body) = answer?;
        call.expect_status(status, &body)?;
        let page: Value = serde_json::from_str(&body)
            .map_err(|e| format!("GET {}: body is not JSON ({e})", call.path))?;
        count += page["Resources"]
            .as_array()
            .ok_or_else(|| format!("GET {}: the page has no Resources", call.path))?
            .len();
        match page["nextCursor"].as_str() {
            Some(next) => next.clone_into(&mut cursor),
            None => return Ok(count),
        }
    }
}

/// Where cursor paging stands.
enum Cursor {
    First,
    Next(String),
    /// Finished, or the page in flight has not answered with a cursor (yet).
    Stop,
}

/// Pages through all users with cursors; the tenant may hold users of other runs, so only
/// this run's are counted against the expected number.
fn list_phase(w: &Arc<Workload>) -> Phase {
    let cursor = Arc::new(Mutex::new(Cursor::First));
    let seen = Arc::new(AtomicUsize::new(0));
    let request = {
        let cursor = cursor.clone();
        move |_| {
            // Taking the cursor ends the phase if this page fails: only a good page puts one back.
            let taken = std::mem::replace(&mut *cursor.lock().expect("cursor lock"), Cursor::Stop);
            let path = match taken {
                Cursor::First => format!("/Users?count={PAGE_SIZE}&cursor="),
                Cursor::Next(c) => format!("/Users?count={PAGE_SIZE}&cursor={}", query_value(&c)),
                Cursor::Stop => return Step::Done,
            };
            Step::Send(Call::new(Method::GET, path, StatusCode::OK))
        }
    };
    let check = {
        let (w, seen) = (w.clone(), seen.clone());
        let last = Mutex::new(String::new());
        move |_, body: Value| {
            let resources = body["Resources"]
                .as_array()
                .ok_or("the page has no Resources")?;
            if resources.len() > PAGE_SIZE {
                return Err(format!("a page of {} users", resources.len()));
            }
            let ours = resources
                .iter()
                .filter(|u| u["userName"].as_str().is_some_and(|n| w.is_ours(n)))
                .count();
            seen.fetch_add(ours, Ordering::Relaxed);
            if let Some(next) = body["nextCursor"].as_str() {
                let mut last = last.lock().expect("last cursor lock");
                if *last == next {
                    return Err(format!("the cursor {next} repeats"));
                }
                next.clone_into(&mut last);
                *cursor.lock().expect("cursor lock") = Cursor::Next(next.to_owned());
            }
            Ok(())
        }
    };
    let users = w.users;
    Phase::sequential("list", request)
        .check(check)
        .finish(move || match seen.load(Ordering::Relaxed) {
            n if n == users => Ok(()),
            n => Err(format!("paging listed {n} of the {users} users")),
        })
}
