//! Amazon States Language: a typed builder for state machine definitions,
//! serialised to ASL JSON, and the checks every definition (typed or given
//! as JSON) goes through at preview.

use std::collections::{BTreeMap, BTreeSet};

use iac_core::{props, Checks, Expr, Input, Value};

/// A state machine's definition, in Amazon States Language: where it
/// starts and its states. Also the shape of a [`Parallel`] branch and of a
/// [`Map`]'s item processor.
///
/// ```
/// use iac_aws::stepfunctions::{Catch, Choice, Condition, Definition, Fail, Pass, Retry, Succeed, Task, Wait};
/// let definition = Definition::new("Validate")
///     .comment("ingest one file")
///     .state(
///         "Validate",
///         Task::lambda("arn:aws:lambda:us-east-1:123456789012:function:validate")
///             .retry(Retry::errors(["Lambda.TooManyRequestsException"]).interval_seconds(2).max_attempts(3).backoff_rate(2.0))
///             .catch(Catch::all("Rejected"))
///             .next("Route"),
///     )
///     .state(
///         "Route",
///         Choice::new()
///             .when(Condition::string_equals("$.Payload.kind", "large"), "Settle")
///             .otherwise("Done"),
///     )
///     .state("Settle", Wait::seconds(30).next("Done"))
///     .state("Done", Succeed::new())
///     .state("Rejected", Fail::new().error("Invalid").cause("the file did not validate"));
/// # let _ = definition;
/// ```
#[derive(Clone, Debug)]
pub struct Definition {
    start_at: String,
    comment: Option<String>,
    timeout_seconds: Option<u32>,
    states: Vec<(String, State)>,
}

impl Definition {
    /// A definition that starts at the state named `start_at`.
    pub fn new(start_at: impl Into<String>) -> Definition {
        Definition { start_at: start_at.into(), comment: None, timeout_seconds: None, states: Vec::new() }
    }

    /// What it does.
    pub fn comment(mut self, comment: impl Into<String>) -> Definition {
        self.comment = Some(comment.into());
        self
    }

    /// The longest an execution may run (top level only).
    pub fn timeout_seconds(mut self, seconds: u32) -> Definition {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Adds a state named `name`.
    pub fn state(mut self, name: impl Into<String>, state: impl Into<State>) -> Definition {
        self.states.push((name.into(), state.into()));
        self
    }

    /// The definition as an expression: ASL JSON whose task resources and
    /// parameters may be other resources' outputs.
    pub(crate) fn to_expr(&self, top: bool) -> Expr {
        let states = Expr::Map(self.states.iter().map(|(n, s)| (n.clone(), s.to_expr())).collect());
        props([
            ("Comment", Value::from(self.comment.clone()).into()),
            ("StartAt", Value::from(self.start_at.as_str()).into()),
            ("States", states),
            ("TimeoutSeconds", Value::from(self.timeout_seconds.filter(|_| top)).into()),
        ])
    }

    /// Names used twice in one scope, which JSON would silently collapse.
    pub(crate) fn check_duplicates(&self, c: &mut Checks, field: &str) {
        let mut seen = BTreeSet::new();
        for (name, state) in &self.states {
            if !seen.insert(name.as_str()) {
                c.fail(format!("{field}.States"), format!("state `{name}` is defined twice"));
            }
            let here = format!("{field}.States.{name}");
            match state {
                State::Parallel(p) => {
                    for (n, b) in p.branches.iter().enumerate() {
                        b.check_duplicates(c, &format!("{here}.Branches.{n}"));
                    }
                }
                State::Map(m) => m.processor.check_duplicates(c, &format!("{here}.ItemProcessor")),
                _ => {}
            }
        }
    }
}

/// One state of a [`Definition`].
#[derive(Clone, Debug)]
pub enum State {
    /// Does work: invokes a Lambda function or another service.
    Task(Task),
    /// Passes its input on, optionally with a fixed result.
    Pass(Pass),
    /// Branches on the input.
    Choice(Choice),
    /// Waits for a time or a timestamp.
    Wait(Wait),
    /// Ends the execution successfully.
    Succeed(Succeed),
    /// Ends the execution with an error.
    Fail(Fail),
    /// Runs branches at once.
    Parallel(Parallel),
    /// Runs a processor for each item of an array.
    Map(Map),
}

impl State {
    fn to_expr(&self) -> Expr {
        match self {
            State::Task(t) => t.to_expr(),
            State::Pass(p) => p.to_expr(),
            State::Choice(c) => c.to_expr(),
            State::Wait(w) => w.to_expr(),
            State::Succeed(s) => s.to_expr(),
            State::Fail(f) => f.to_expr(),
            State::Parallel(p) => p.to_expr(),
            State::Map(m) => m.to_expr(),
        }
    }
}

macro_rules! into_state {
    ($($t:ident),*) => {$(
        impl From<$t> for State {
            fn from(s: $t) -> State {
                State::$t(s)
            }
        }
    )*};
}
into_state!(Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map);

/// Where a state goes next.
#[derive(Clone, Debug)]
enum Transition {
    Next(String),
    End,
}

/// What every state has: a comment and the paths that pick its input and
/// output.
#[derive(Clone, Debug, Default)]
struct Common {
    comment: Option<String>,
    input_path: Option<String>,
    output_path: Option<String>,
}

impl Common {
    fn entries(&self, kind: &str) -> Vec<(&'static str, Expr)> {
        vec![
            ("Type", Value::from(kind).into()),
            ("Comment", Value::from(self.comment.clone()).into()),
            ("InputPath", Value::from(self.input_path.clone()).into()),
            ("OutputPath", Value::from(self.output_path.clone()).into()),
        ]
    }
}

fn transition_entries(t: &Option<Transition>) -> Vec<(&'static str, Expr)> {
    match t {
        Some(Transition::Next(n)) => vec![("Next", Value::from(n.as_str()).into())],
        Some(Transition::End) => vec![("End", Value::from(true).into())],
        None => vec![],
    }
}

fn error_entries(retry: &[Retry], catch: &[Catch]) -> Vec<(&'static str, Expr)> {
    vec![
        ("Retry", Value::List(retry.iter().map(Retry::to_value).collect()).into()),
        ("Catch", Value::List(catch.iter().map(Catch::to_value).collect()).into()),
    ]
}

/// A map expression from entries, dropping unset ones (like `props`).
fn entries_expr(entries: Vec<(&'static str, Expr)>) -> Expr {
    Expr::Map(
        entries
            .into_iter()
            .filter(|(_, e)| !matches!(e, Expr::Value(v) if v.is_empty_like()))
            .map(|(k, e)| (k.to_owned(), e))
            .collect(),
    )
}

fn json_expr(j: &Option<serde_json::Value>) -> Expr {
    j.as_ref().map_or(Value::Null, Value::from_json).into()
}

/// `comment`, `input_path` and `output_path` on every state.
macro_rules! common_methods {
    ($($t:ident),*) => {$(
        impl $t {
            /// What the state does.
            pub fn comment(mut self, comment: impl Into<String>) -> $t {
                self.common.comment = Some(comment.into());
                self
            }
            /// The part of the input the state works on (`$.detail`).
            pub fn input_path(mut self, path: impl Into<String>) -> $t {
                self.common.input_path = Some(path.into());
                self
            }
            /// The part of the result passed on.
            pub fn output_path(mut self, path: impl Into<String>) -> $t {
                self.common.output_path = Some(path.into());
                self
            }
        }
    )*};
}

/// `next` and `end` on states that go on to another.
macro_rules! flow_methods {
    ($($t:ident),*) => {$(
        impl $t {
            /// Goes on to the state named `state`.
            pub fn next(mut self, state: impl Into<String>) -> $t {
                self.transition = Some(Transition::Next(state.into()));
                self
            }
            /// Ends the execution (or the branch) after this state.
            pub fn end(mut self) -> $t {
                self.transition = Some(Transition::End);
                self
            }
        }
    )*};
}

/// `result_path` on states that have a result.
macro_rules! result_methods {
    ($($t:ident),*) => {$(
        impl $t {
            /// Where in the input the result goes (`$.result`).
            pub fn result_path(mut self, path: impl Into<String>) -> $t {
                self.result_path = Some(path.into());
                self
            }
        }
    )*};
}

/// `retry` and `catch` on states that can fail.
macro_rules! error_methods {
    ($($t:ident),*) => {$(
        impl $t {
            /// Retries on the errors `retry` names (rules are tried in order).
            pub fn retry(mut self, retry: Retry) -> $t {
                self.retry.push(retry);
                self
            }
            /// Goes to another state on the errors `catch` names, once
            /// retries are spent.
            pub fn catch(mut self, catch: Catch) -> $t {
                self.catch.push(catch);
                self
            }
        }
    )*};
}

common_methods!(Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map);
flow_methods!(Task, Pass, Wait, Parallel, Map);
result_methods!(Task, Pass, Parallel, Map);
error_methods!(Task, Parallel, Map);

/// A `Task` state: invokes a Lambda function (through Step Functions'
/// optimised integration) or any resource ARN (another service's
/// integration, an activity).
///
/// ```
/// use iac_aws::stepfunctions::Task;
/// let submit = Task::resource("arn:aws:states:::batch:submitJob.sync")
///     .parameter("JobQueue", "arn:aws:batch:us-east-1:123456789012:job-queue/nightly")
///     .parameter("JobDefinition", "nightly-report")
///     .parameter("JobName", "nightly-report")
///     .timeout_seconds(3600)
///     .end();
/// # let _ = submit;
/// ```
#[derive(Clone, Debug)]
pub struct Task {
    resource: Expr,
    parameters: BTreeMap<String, Expr>,
    timeout_seconds: Option<u32>,
    heartbeat_seconds: Option<u32>,
    result_selector: Option<serde_json::Value>,
    retry: Vec<Retry>,
    catch: Vec<Catch>,
    result_path: Option<String>,
    transition: Option<Transition>,
    common: Common,
}

impl Task {
    /// A task that calls `resource`: an integration
    /// (`arn:aws:states:::sqs:sendMessage`), a Lambda function's ARN or an
    /// activity's.
    pub fn resource(resource: impl Into<Input<String>>) -> Task {
        Task {
            resource: resource.into().to_expr(),
            parameters: BTreeMap::new(),
            timeout_seconds: None,
            heartbeat_seconds: None,
            result_selector: None,
            retry: Vec::new(),
            catch: Vec::new(),
            result_path: None,
            transition: None,
            common: Common::default(),
        }
    }

    /// A task that invokes the Lambda function `function_arn` with the
    /// state's input as its payload (`arn:aws:states:::lambda:invoke`, in
    /// the function's partition); the function's answer is in `$.Payload`.
    pub fn lambda(function_arn: impl Into<Input<String>>) -> Task {
        let function_arn = function_arn.into();
        let resource: Input<String> = match &function_arn {
            Input::Value(arn) => Input::Value(lambda_invoke(arn)),
            Input::Output(o) => Input::Output(o.map(|arn: String| lambda_invoke(&arn))),
        };
        Task::resource(resource)
            .parameter("FunctionName", function_arn)
            .parameters(serde_json::json!({"Payload.$": "$"}))
    }

    /// Adds the entries of a JSON object to the task's parameters (keys
    /// ending `.$` take a path).
    pub fn parameters(mut self, parameters: serde_json::Value) -> Task {
        if let serde_json::Value::Object(o) = parameters {
            for (k, v) in o {
                self.parameters.insert(k, Value::from_json(&v).into());
            }
        }
        self
    }

    /// Sets one parameter to a string, possibly another resource's output
    /// (a queue URL, a job queue's ARN).
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<Input<String>>) -> Task {
        self.parameters.insert(key.into(), value.into().to_expr());
        self
    }

    /// The longest the task may run before it fails with
    /// `States.Timeout`.
    pub fn timeout_seconds(mut self, seconds: u32) -> Task {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// The longest between heartbeats before it fails with
    /// `States.Timeout` (below the timeout).
    pub fn heartbeat_seconds(mut self, seconds: u32) -> Task {
        self.heartbeat_seconds = Some(seconds);
        self
    }

    /// Reshapes the result before `result_path` places it.
    pub fn result_selector(mut self, selector: serde_json::Value) -> Task {
        self.result_selector = Some(selector);
        self
    }

    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Task");
        e.push(("Resource", self.resource.clone()));
        if !self.parameters.is_empty() {
            e.push(("Parameters", Expr::Map(self.parameters.clone())));
        }
        e.push(("TimeoutSeconds", Value::from(self.timeout_seconds).into()));
        e.push(("HeartbeatSeconds", Value::from(self.heartbeat_seconds).into()));
        e.push(("ResultSelector", json_expr(&self.result_selector)));
        e.push(("ResultPath", Value::from(self.result_path.clone()).into()));
        e.extend(error_entries(&self.retry, &self.catch));
        e.extend(transition_entries(&self.transition));
        entries_expr(e)
    }
}

/// The Lambda invoke integration in the partition of `function_arn`.
fn lambda_invoke(function_arn: &str) -> String {
    let partition = function_arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws");
    format!("arn:{partition}:states:::lambda:invoke")
}

/// A `Pass` state: passes its input on, or a fixed result.
///
/// ```
/// let seed = iac_aws::stepfunctions::Pass::new().result(serde_json::json!({"attempt": 1})).result_path("$.meta").next("Work");
/// # let _ = seed;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Pass {
    result: Option<serde_json::Value>,
    parameters: Option<serde_json::Value>,
    result_path: Option<String>,
    transition: Option<Transition>,
    common: Common,
}

impl Pass {
    /// A state that passes its input on.
    pub fn new() -> Pass {
        Pass::default()
    }
    /// A fixed result instead of the input.
    pub fn result(mut self, result: serde_json::Value) -> Pass {
        self.result = Some(result);
        self
    }
    /// A new input built from the old one.
    pub fn parameters(mut self, parameters: serde_json::Value) -> Pass {
        self.parameters = Some(parameters);
        self
    }
    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Pass");
        e.push(("Result", json_expr(&self.result)));
        e.push(("Parameters", json_expr(&self.parameters)));
        e.push(("ResultPath", Value::from(self.result_path.clone()).into()));
        e.extend(transition_entries(&self.transition));
        entries_expr(e)
    }
}

/// A `Choice` state: the first rule whose condition holds picks the next
/// state; otherwise the default.
///
/// ```
/// use iac_aws::stepfunctions::{Choice, Condition};
/// let route = Choice::new()
///     .when(Condition::and(vec![
///         Condition::is_present("$.size", true),
///         Condition::numeric_greater_than("$.size", 1e9),
///     ]), "Split")
///     .when(Condition::boolean_equals("$.urgent", true), "Fast")
///     .otherwise("Normal");
/// # let _ = route;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Choice {
    rules: Vec<(Condition, String)>,
    default: Option<String>,
    common: Common,
}

impl Choice {
    /// A choice with no rules yet.
    pub fn new() -> Choice {
        Choice::default()
    }
    /// Goes to `next` when `condition` holds.
    pub fn when(mut self, condition: Condition, next: impl Into<String>) -> Choice {
        self.rules.push((condition, next.into()));
        self
    }
    /// Goes to `next` when no rule holds (else the execution fails with
    /// `States.NoChoiceMatched`).
    pub fn otherwise(mut self, next: impl Into<String>) -> Choice {
        self.default = Some(next.into());
        self
    }
    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Choice");
        let rules = self
            .rules
            .iter()
            .map(|(c, next)| {
                let mut m = c.to_map();
                m.insert("Next".into(), Value::from(next.as_str()));
                Value::Map(m)
            })
            .collect();
        e.push(("Choices", Value::List(rules).into()));
        e.push(("Default", Value::from(self.default.clone()).into()));
        entries_expr(e)
    }
}

/// A condition of a [`Choice`] rule, on the value at a path (`$.kind`).
#[derive(Clone, Debug)]
pub enum Condition {
    /// The string at the path equals the value.
    StringEquals(String, String),
    /// The number at the path equals the value.
    NumericEquals(String, f64),
    /// The number at the path is below the value.
    NumericLessThan(String, f64),
    /// The number at the path is above the value.
    NumericGreaterThan(String, f64),
    /// The boolean at the path equals the value.
    BooleanEquals(String, bool),
    /// The path is present (true) or absent (false).
    IsPresent(String, bool),
    /// All hold.
    And(Vec<Condition>),
    /// Any holds.
    Or(Vec<Condition>),
    /// It does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// The string at `variable` equals `value`.
    pub fn string_equals(variable: impl Into<String>, value: impl Into<String>) -> Condition {
        Condition::StringEquals(variable.into(), value.into())
    }
    /// The number at `variable` equals `value`.
    pub fn numeric_equals(variable: impl Into<String>, value: f64) -> Condition {
        Condition::NumericEquals(variable.into(), value)
    }
    /// The number at `variable` is below `value`.
    pub fn numeric_less_than(variable: impl Into<String>, value: f64) -> Condition {
        Condition::NumericLessThan(variable.into(), value)
    }
    /// The number at `variable` is above `value`.
    pub fn numeric_greater_than(variable: impl Into<String>, value: f64) -> Condition {
        Condition::NumericGreaterThan(variable.into(), value)
    }
    /// The boolean at `variable` equals `value`.
    pub fn boolean_equals(variable: impl Into<String>, value: bool) -> Condition {
        Condition::BooleanEquals(variable.into(), value)
    }
    /// `variable` is present (or absent, with `false`).
    pub fn is_present(variable: impl Into<String>, present: bool) -> Condition {
        Condition::IsPresent(variable.into(), present)
    }
    /// All of `conditions` hold.
    pub fn and(conditions: Vec<Condition>) -> Condition {
        Condition::And(conditions)
    }
    /// Any of `conditions` holds.
    pub fn or(conditions: Vec<Condition>) -> Condition {
        Condition::Or(conditions)
    }
    /// `condition` does not hold.
    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Condition {
        Condition::Not(Box::new(condition))
    }

    fn to_map(&self) -> BTreeMap<String, Value> {
        let compare = |var: &str, op: &str, v: Value| {
            BTreeMap::from([("Variable".to_owned(), Value::from(var)), (op.to_owned(), v)])
        };
        match self {
            Condition::StringEquals(var, v) => compare(var, "StringEquals", Value::from(v.as_str())),
            Condition::NumericEquals(var, v) => compare(var, "NumericEquals", number(*v)),
            Condition::NumericLessThan(var, v) => compare(var, "NumericLessThan", number(*v)),
            Condition::NumericGreaterThan(var, v) => compare(var, "NumericGreaterThan", number(*v)),
            Condition::BooleanEquals(var, v) => compare(var, "BooleanEquals", Value::from(*v)),
            Condition::IsPresent(var, v) => compare(var, "IsPresent", Value::from(*v)),
            Condition::And(cs) => {
                BTreeMap::from([("And".to_owned(), Value::List(cs.iter().map(|c| Value::Map(c.to_map())).collect()))])
            }
            Condition::Or(cs) => {
                BTreeMap::from([("Or".to_owned(), Value::List(cs.iter().map(|c| Value::Map(c.to_map())).collect()))])
            }
            Condition::Not(c) => BTreeMap::from([("Not".to_owned(), Value::Map(c.to_map()))]),
        }
    }
}

/// A number as JSON writes it: whole numbers without a fraction, so the
/// definition AWS hands back reads the same.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::Int(v as i64)
    } else {
        Value::Float(v)
    }
}

/// A `Wait` state: for a number of seconds or until a timestamp, given or
/// read from the input.
///
/// ```
/// let cool_down = iac_aws::stepfunctions::Wait::seconds(300).next("Retry");
/// let until = iac_aws::stepfunctions::Wait::timestamp_path("$.notBefore").end();
/// # let _ = (cool_down, until);
/// ```
#[derive(Clone, Debug)]
pub struct Wait {
    what: (&'static str, Value),
    transition: Option<Transition>,
    common: Common,
}

impl Wait {
    fn with(key: &'static str, v: Value) -> Wait {
        Wait { what: (key, v), transition: None, common: Common::default() }
    }
    /// Waits this many seconds.
    pub fn seconds(seconds: u32) -> Wait {
        Wait::with("Seconds", Value::from(seconds))
    }
    /// Waits until an ISO 8601 timestamp (`2026-01-01T00:00:00Z`).
    pub fn timestamp(timestamp: impl Into<String>) -> Wait {
        Wait::with("Timestamp", Value::from(timestamp.into()))
    }
    /// Waits the seconds found at a path of the input.
    pub fn seconds_path(path: impl Into<String>) -> Wait {
        Wait::with("SecondsPath", Value::from(path.into()))
    }
    /// Waits until the timestamp found at a path of the input.
    pub fn timestamp_path(path: impl Into<String>) -> Wait {
        Wait::with("TimestampPath", Value::from(path.into()))
    }
    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Wait");
        e.push((self.what.0, self.what.1.clone().into()));
        e.extend(transition_entries(&self.transition));
        entries_expr(e)
    }
}

/// A `Succeed` state: ends the execution (or branch) successfully.
#[derive(Clone, Debug, Default)]
pub struct Succeed {
    common: Common,
}

impl Succeed {
    /// The state.
    pub fn new() -> Succeed {
        Succeed::default()
    }
    fn to_expr(&self) -> Expr {
        entries_expr(self.common.entries("Succeed"))
    }
}

/// A `Fail` state: ends the execution with an error and a cause.
#[derive(Clone, Debug, Default)]
pub struct Fail {
    error: Option<String>,
    cause: Option<String>,
    common: Common,
}

impl Fail {
    /// The state.
    pub fn new() -> Fail {
        Fail::default()
    }
    /// The error name.
    pub fn error(mut self, error: impl Into<String>) -> Fail {
        self.error = Some(error.into());
        self
    }
    /// What went wrong, for people.
    pub fn cause(mut self, cause: impl Into<String>) -> Fail {
        self.cause = Some(cause.into());
        self
    }
    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Fail");
        e.push(("Error", Value::from(self.error.clone()).into()));
        e.push(("Cause", Value::from(self.cause.clone()).into()));
        entries_expr(e)
    }
}

/// A `Parallel` state: runs its branches at once; its result is the list
/// of their results.
///
/// ```
/// use iac_aws::stepfunctions::{Definition, Parallel, Pass};
/// let both = Parallel::new()
///     .branch(Definition::new("Thumbnail").state("Thumbnail", Pass::new().end()))
///     .branch(Definition::new("Index").state("Index", Pass::new().end()))
///     .next("Done");
/// # let _ = both;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Parallel {
    branches: Vec<Definition>,
    retry: Vec<Retry>,
    catch: Vec<Catch>,
    result_path: Option<String>,
    transition: Option<Transition>,
    common: Common,
}

impl Parallel {
    /// A parallel state with no branches yet.
    pub fn new() -> Parallel {
        Parallel::default()
    }
    /// Adds a branch.
    pub fn branch(mut self, branch: Definition) -> Parallel {
        self.branches.push(branch);
        self
    }
    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Parallel");
        e.push(("Branches", Expr::List(self.branches.iter().map(|b| b.to_expr(false)).collect())));
        e.push(("ResultPath", Value::from(self.result_path.clone()).into()));
        e.extend(error_entries(&self.retry, &self.catch));
        e.extend(transition_entries(&self.transition));
        entries_expr(e)
    }
}

/// A `Map` state: runs its item processor for each item of an array in the
/// input (inline mode).
///
/// ```
/// use iac_aws::stepfunctions::{Definition, Map, Task};
/// let each = Map::new(
///     Definition::new("Resize").state("Resize", Task::lambda("arn:aws:lambda:us-east-1:123456789012:function:resize").end()),
/// )
/// .items_path("$.images")
/// .max_concurrency(10)
/// .end();
/// # let _ = each;
/// ```
#[derive(Clone, Debug)]
pub struct Map {
    processor: Definition,
    items_path: Option<String>,
    max_concurrency: Option<u32>,
    item_selector: Option<serde_json::Value>,
    retry: Vec<Retry>,
    catch: Vec<Catch>,
    result_path: Option<String>,
    transition: Option<Transition>,
    common: Common,
}

impl Map {
    /// A map state running `processor` for each item.
    pub fn new(processor: Definition) -> Map {
        Map {
            processor,
            items_path: None,
            max_concurrency: None,
            item_selector: None,
            retry: Vec::new(),
            catch: Vec::new(),
            result_path: None,
            transition: None,
            common: Common::default(),
        }
    }
    /// Where the array is in the input (`$` by default).
    pub fn items_path(mut self, path: impl Into<String>) -> Map {
        self.items_path = Some(path.into());
        self
    }
    /// At most this many items at once (0: as many as possible).
    pub fn max_concurrency(mut self, n: u32) -> Map {
        self.max_concurrency = Some(n);
        self
    }
    /// What each item's processor gets, built from the item (`$$.Map.Item.Value`).
    pub fn item_selector(mut self, selector: serde_json::Value) -> Map {
        self.item_selector = Some(selector);
        self
    }
    fn to_expr(&self) -> Expr {
        let mut e = self.common.entries("Map");
        e.push(("ItemProcessor", self.processor.to_expr(false)));
        e.push(("ItemsPath", Value::from(self.items_path.clone()).into()));
        e.push(("MaxConcurrency", Value::from(self.max_concurrency).into()));
        e.push(("ItemSelector", json_expr(&self.item_selector)));
        e.push(("ResultPath", Value::from(self.result_path.clone()).into()));
        e.extend(error_entries(&self.retry, &self.catch));
        e.extend(transition_entries(&self.transition));
        entries_expr(e)
    }
}

/// A retry rule: which errors, how often, how far apart.
///
/// ```
/// let r = iac_aws::stepfunctions::Retry::all().interval_seconds(1).max_attempts(5).backoff_rate(2.0);
/// # let _ = r;
/// ```
#[derive(Clone, Debug)]
pub struct Retry {
    errors: Vec<String>,
    interval_seconds: Option<u32>,
    max_attempts: Option<u32>,
    backoff_rate: Option<f64>,
    max_delay_seconds: Option<u32>,
}

impl Retry {
    /// Retries on these error names (`States.Timeout`, `Lambda.ServiceException`, …).
    pub fn errors<S: Into<String>>(errors: impl IntoIterator<Item = S>) -> Retry {
        Retry {
            errors: errors.into_iter().map(Into::into).collect(),
            interval_seconds: None,
            max_attempts: None,
            backoff_rate: None,
            max_delay_seconds: None,
        }
    }
    /// Retries on any error (`States.ALL`).
    pub fn all() -> Retry {
        Retry::errors(["States.ALL"])
    }
    /// Seconds before the first retry (1 by default).
    pub fn interval_seconds(mut self, s: u32) -> Retry {
        self.interval_seconds = Some(s);
        self
    }
    /// Retries at most this many times (3 by default; 0: never).
    pub fn max_attempts(mut self, n: u32) -> Retry {
        self.max_attempts = Some(n);
        self
    }
    /// What the interval is multiplied by after each retry (at least 1; 2 by default).
    pub fn backoff_rate(mut self, r: f64) -> Retry {
        self.backoff_rate = Some(r);
        self
    }
    /// The longest interval between retries.
    pub fn max_delay_seconds(mut self, s: u32) -> Retry {
        self.max_delay_seconds = Some(s);
        self
    }
    fn to_value(&self) -> Value {
        crate::util::map([
            ("ErrorEquals", Value::from(self.errors.clone())),
            ("IntervalSeconds", Value::from(self.interval_seconds)),
            ("MaxAttempts", Value::from(self.max_attempts)),
            ("BackoffRate", self.backoff_rate.map_or(Value::Null, Value::Float)),
            ("MaxDelaySeconds", Value::from(self.max_delay_seconds)),
        ])
    }
}

/// A catch rule: which errors, and the state to go to.
///
/// ```
/// let c = iac_aws::stepfunctions::Catch::errors(["States.Timeout"], "TimedOut").result_path("$.error");
/// # let _ = c;
/// ```
#[derive(Clone, Debug)]
pub struct Catch {
    errors: Vec<String>,
    next: String,
    result_path: Option<String>,
}

impl Catch {
    /// Goes to `next` on these error names.
    pub fn errors<S: Into<String>>(errors: impl IntoIterator<Item = S>, next: impl Into<String>) -> Catch {
        Catch { errors: errors.into_iter().map(Into::into).collect(), next: next.into(), result_path: None }
    }
    /// Goes to `next` on any error (`States.ALL`).
    pub fn all(next: impl Into<String>) -> Catch {
        Catch::errors(["States.ALL"], next)
    }
    /// Where in the input the error goes.
    pub fn result_path(mut self, path: impl Into<String>) -> Catch {
        self.result_path = Some(path.into());
        self
    }
    fn to_value(&self) -> Value {
        crate::util::map([
            ("ErrorEquals", Value::from(self.errors.clone())),
            ("Next", Value::from(self.next.as_str())),
            ("ResultPath", Value::from(self.result_path.clone())),
        ])
    }
}

// ---- checks ------------------------------------------------------------

/// The definition as plain JSON for checking: another resource's output,
/// not known at preview, stands as a placeholder string.
pub(crate) fn skeleton(e: &Expr) -> serde_json::Value {
    match e {
        Expr::Value(v) => v.to_plain_json().unwrap_or_else(|| serde_json::Value::String("(known after apply)".into())),
        Expr::List(l) => serde_json::Value::Array(l.iter().map(skeleton).collect()),
        Expr::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), skeleton(v))).collect()),
        Expr::Secret(inner) => skeleton(inner),
        Expr::Ref { .. } | Expr::Apply(..) => serde_json::Value::String("(known after apply)".into()),
    }
}

const TYPES: [&str; 8] = ["Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"];

/// Checks an ASL definition the way Step Functions validates it: `StartAt`
/// names a state, every `Next`, `Default` and `Catch` target is a state of
/// the same scope, every state is reachable, a terminal state exists, state
/// names are at most 80 characters; and the same inside every `Parallel`
/// branch and `Map` processor. `express` refuses the `.sync` and
/// `.waitForTaskToken` integrations Express workflows lack.
pub(crate) fn check(c: &mut Checks, field: &str, def: &serde_json::Value, express: bool) {
    let Some(obj) = def.as_object() else {
        c.fail(field, "a definition is a JSON object with StartAt and States");
        return;
    };
    let Some(states) = obj.get("States").and_then(|s| s.as_object()).filter(|s| !s.is_empty()) else {
        c.fail(format!("{field}.States"), "a definition needs at least one state");
        return;
    };
    let start = obj.get("StartAt").and_then(|s| s.as_str());
    match start {
        None => c.fail(format!("{field}.StartAt"), "StartAt (the first state's name) is required"),
        Some(s) if !states.contains_key(s) => {
            c.fail(format!("{field}.StartAt"), format!("StartAt names `{s}`, which is not a state here"))
        }
        Some(_) => {}
    }
    let target = |c: &mut Checks, at: String, state: &str, what: &str, to: Option<&serde_json::Value>| match to {
        Some(serde_json::Value::String(t)) if states.contains_key(t) => {}
        Some(serde_json::Value::String(t)) => {
            c.fail(at, format!("state `{state}`: {what} `{t}` is not a state here"));
        }
        Some(_) => c.fail(at, format!("state `{state}`: {what} is not a state name")),
        None => {}
    };
    let mut terminal = false;
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, state) in states {
        let here = format!("{field}.States.{name}");
        if name.is_empty() || name.chars().count() > 80 {
            c.fail(&here, format!("state name `{name}` is {} characters; 1 to 80", name.chars().count()));
        }
        let Some(st) = state.as_object() else {
            c.fail(&here, format!("state `{name}` is not a JSON object"));
            continue;
        };
        let kind = st.get("Type").and_then(|t| t.as_str()).unwrap_or("");
        if !TYPES.contains(&kind) {
            c.fail(
                format!("{here}.Type"),
                format!("state `{name}`: `{kind}` is not a state type ({})", TYPES.join(", ")),
            );
            continue;
        }
        let out = edges.entry(name.as_str()).or_default();
        let next = st.get("Next");
        let end = st.get("End").and_then(|e| e.as_bool()) == Some(true);
        match kind {
            "Choice" | "Succeed" | "Fail" => {
                if next.is_some() || st.contains_key("End") {
                    c.fail(&here, format!("state `{name}`: a {kind} state takes neither Next nor End"));
                }
            }
            _ => {
                if next.is_some() == end {
                    c.fail(
                        &here,
                        format!(
                            "state `{name}`: exactly one of Next and End is required (it has {})",
                            match end {
                                true => "both",
                                false => "neither",
                            }
                        ),
                    );
                }
                target(c, format!("{here}.Next"), name, "Next", next);
                terminal |= end;
            }
        }
        out.extend(next.and_then(|n| n.as_str()));
        if matches!(kind, "Succeed" | "Fail") {
            terminal = true;
        }
        if kind == "Choice" {
            match st.get("Choices").and_then(|c| c.as_array()) {
                Some(rules) if !rules.is_empty() => {
                    for (n, rule) in rules.iter().enumerate() {
                        let at = format!("{here}.Choices.{n}");
                        match rule.get("Next") {
                            None => c.fail(&at, format!("state `{name}`: choice rule {n} has no Next")),
                            to => target(c, format!("{at}.Next"), name, "a choice rule's Next", to),
                        }
                        out.extend(rule.get("Next").and_then(|n| n.as_str()));
                        check_condition(c, &at, name, rule);
                    }
                }
                _ => {
                    c.fail(format!("{here}.Choices"), format!("state `{name}`: a Choice state needs at least one rule"))
                }
            }
            target(c, format!("{here}.Default"), name, "Default", st.get("Default"));
            out.extend(st.get("Default").and_then(|n| n.as_str()));
        }
        if let Some(catch) = st.get("Catch").and_then(|c| c.as_array()) {
            for (n, rule) in catch.iter().enumerate() {
                let at = format!("{here}.Catch.{n}");
                check_errors(c, &at, name, rule);
                match rule.get("Next") {
                    None => c.fail(&at, format!("state `{name}`: catch rule {n} has no Next")),
                    to => target(c, format!("{at}.Next"), name, "a catch rule's Next", to),
                }
                out.extend(rule.get("Next").and_then(|n| n.as_str()));
            }
        }
        if let Some(retry) = st.get("Retry").and_then(|c| c.as_array()) {
            for (n, rule) in retry.iter().enumerate() {
                let at = format!("{here}.Retry.{n}");
                check_errors(c, &at, name, rule);
                if let Some(a) = rule.get("MaxAttempts").and_then(|v| v.as_i64()) {
                    c.check(a >= 0, &at, || format!("state `{name}`: MaxAttempts {a} is negative"));
                }
                if let Some(i) = rule.get("IntervalSeconds").and_then(|v| v.as_i64()) {
                    c.check(i >= 1, &at, || format!("state `{name}`: IntervalSeconds {i}; at least 1"));
                }
                if let Some(b) = rule.get("BackoffRate").and_then(|v| v.as_f64()) {
                    c.check(b >= 1.0, &at, || format!("state `{name}`: BackoffRate {b}; at least 1.0"));
                }
            }
        }
        match kind {
            "Task" => {
                match st.get("Resource").and_then(|r| r.as_str()) {
                    None => c.fail(format!("{here}.Resource"), format!("state `{name}`: a Task needs a Resource")),
                    Some(r) if express && (r.ends_with(".sync") || r.contains(".sync:") || r.ends_with(".waitForTaskToken")) => {
                        c.fail(
                            format!("{here}.Resource"),
                            format!("state `{name}`: `{r}`: EXPRESS state machines do not support .sync or .waitForTaskToken"),
                        )
                    }
                    Some(_) => {}
                }
                let timeout = st.get("TimeoutSeconds").and_then(|v| v.as_i64());
                if let Some(t) = timeout {
                    c.check(t >= 1, &format!("{here}.TimeoutSeconds"), || format!("state `{name}`: {t}; at least 1"));
                }
                if let Some(h) = st.get("HeartbeatSeconds").and_then(|v| v.as_i64()) {
                    c.check(h >= 1 && timeout.is_none_or(|t| h < t), &format!("{here}.HeartbeatSeconds"), || {
                        format!("state `{name}`: {h}; at least 1 and below TimeoutSeconds")
                    });
                }
            }
            "Wait" => {
                let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                    .into_iter()
                    .filter(|k| st.contains_key(*k))
                    .collect();
                c.check(given.len() == 1, &here, || {
                    format!(
                        "state `{name}`: a Wait state takes exactly one of Seconds, Timestamp, SecondsPath, TimestampPath (it has {})",
                        if given.is_empty() { "none".to_owned() } else { given.join(", ") }
                    )
                });
            }
            "Parallel" => match st.get("Branches").and_then(|b| b.as_array()) {
                Some(branches) if !branches.is_empty() => {
                    for (n, b) in branches.iter().enumerate() {
                        check(c, &format!("{here}.Branches.{n}"), b, express);
                    }
                }
                _ => c.fail(
                    format!("{here}.Branches"),
                    format!("state `{name}`: a Parallel state needs at least one branch"),
                ),
            },
            "Map" => match st.get("ItemProcessor").or_else(|| st.get("Iterator")) {
                Some(p) => check(c, &format!("{here}.ItemProcessor"), p, express),
                None => c.fail(
                    format!("{here}.ItemProcessor"),
                    format!("state `{name}`: a Map state needs an ItemProcessor"),
                ),
            },
            _ => {}
        }
    }
    c.check(terminal, &format!("{field}.States"), || {
        "no terminal state: one must be a Succeed or Fail state or have End: true".into()
    });
    // Every state is reachable from StartAt (AWS refuses unreachable ones).
    if let Some(start) = start.filter(|s| states.contains_key(*s)) {
        let mut seen = BTreeSet::from([start]);
        let mut todo = vec![start];
        while let Some(s) = todo.pop() {
            for &n in edges.get(s).map(Vec::as_slice).unwrap_or_default() {
                if states.contains_key(n) && seen.insert(n) {
                    todo.push(n);
                }
            }
        }
        for name in states.keys().filter(|n| !seen.contains(n.as_str())) {
            c.fail(format!("{field}.States.{name}"), format!("state `{name}` cannot be reached from StartAt"));
        }
    }
}

fn check_errors(c: &mut Checks, at: &str, state: &str, rule: &serde_json::Value) {
    let ok = rule.get("ErrorEquals").and_then(|e| e.as_array()).is_some_and(|e| !e.is_empty());
    c.check(ok, at, || format!("state `{state}`: ErrorEquals needs at least one error name"));
}

/// How the comparison operators of a choice condition begin
/// (`StringEquals`, `NumericLessThanPath`, `IsPresent`, …).
const COMPARISON_PREFIXES: [&str; 5] = ["String", "Numeric", "Boolean", "Timestamp", "Is"];

fn check_condition(c: &mut Checks, at: &str, state: &str, rule: &serde_json::Value) {
    for op in ["And", "Or"] {
        if let Some(list) = rule.get(op) {
            match list.as_array() {
                Some(l) if !l.is_empty() => l.iter().for_each(|r| check_condition(c, at, state, r)),
                _ => c.fail(at, format!("state `{state}`: {op} needs at least one condition")),
            }
            return;
        }
    }
    if let Some(inner) = rule.get("Not") {
        check_condition(c, at, state, inner);
        return;
    }
    if rule.get("Condition").is_some() {
        // A JSONata condition: Step Functions evaluates it.
        return;
    }
    match rule.get("Variable").and_then(|v| v.as_str()) {
        Some(v) if v.starts_with('$') => {}
        Some(v) => c.fail(at, format!("state `{state}`: Variable `{v}` is not a path (like $.kind)")),
        None => c.fail(at, format!("state `{state}`: a choice condition needs a Variable")),
    }
    let has_op =
        rule.as_object().is_some_and(|o| o.keys().any(|k| COMPARISON_PREFIXES.iter().any(|p| k.starts_with(p))));
    c.check(has_op, at, || {
        format!("state `{state}`: a choice condition needs a comparison (StringEquals, NumericLessThan, …)")
    });
}
