//! The local stack: moto on 127.0.0.1, the router on moto's `MOTO_PORT`, `cargo lambda
//! watch --only-lambda-apis` as the Lambda runtime API, and each function's instances: its
//! debug binary, started `--concurrency` times, each polling the runtime API for its
//! function's invocations as a Lambda execution environment does. Every process runs in its
//! own process group with its PID recorded in `<dir>/stack.json`, so `down` stops exactly
//! what `up` started. Each function has exactly the deployment variables the step table
//! (and so the template) gives it: a variable a function reads but is not given fails here
//! as it would on AWS.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hyper::Method;
use serde::{Deserialize, Serialize};

use berth_steps::pipeline::{Step, STEPS};

use crate::bootstrap::{self, Infra};
use crate::http::send;
use crate::{Result, ACCOUNT, LAMBDA_ACCESS_KEY, REGION};

/// What `up` started and made; `<dir>/stack.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    /// The AWS endpoint to use (the router in front of moto).
    pub endpoint: String,
    pub region: String,
    pub account: String,
    /// The onboarding state machine.
    pub state_machine_arn: String,
    pub moto_endpoint: String,
    /// `cargo lambda watch --only-lambda-apis`: the router sends invocations there, and the
    /// functions' instances poll it.
    pub runtime_api: String,
    /// Process name to PID (each the leader of its own process group).
    pub pids: BTreeMap<String, u32>,
    pub infra: Infra,
    /// What each function's running instances were started with (their count, their
    /// binary's build time and their variables), by function key.
    #[serde(default)]
    pub function_settings: BTreeMap<String, String>,
    /// The functions' deployment variables, as the template sets them: what the `berth` CLI
    /// reads (`--local`) to start requests as the intake does.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

/// The process name of the runtime API.
const RUNTIME_API: &str = "lambda-runtime-api";

#[derive(Debug, Clone)]
pub struct Options {
    /// Where stack.json and the logs go.
    pub dir: PathBuf,
    /// The workspace root (state machine files, the Lambdas' sources).
    pub root: PathBuf,
    /// Instances per function (each serves one invocation at a time).
    pub concurrency: u32,
    /// The ALB pool the bootstrap makes.
    pub pool: bootstrap::PoolOptions,
    /// The router enforces AWS's API request rates on berth's functions from the start
    /// (see [`crate::limits`]; tests may also turn them on and off at run time).
    pub rate_limits: bool,
    /// A reset keeps running the functions whose settings and binary are unchanged.
    pub keep_lambdas: bool,
}

pub fn stack_file(dir: &Path) -> PathBuf {
    dir.join("stack.json")
}

pub fn load(dir: &Path) -> Result<Stack> {
    let path = stack_file(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e} (is the local stack up? `make local-up`)", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn save(dir: &Path, stack: &Stack) -> Result<()> {
    std::fs::write(stack_file(dir), serde_json::to_string_pretty(stack)?)?;
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| !s.contains(") Z ")).unwrap_or(false)
}

fn signal_group(pid: u32, signal: &str) {
    let _ = Command::new("kill").args([signal, "--", &format!("-{pid}")]).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

fn spawn(name: &str, cmd: Command, logs: &Path) -> Result<u32> {
    spawn_logged(name, cmd, &std::fs::File::create(logs.join(format!("{name}.log")))?)
}

/// Starts `cmd` as the leader of its own process group, its output to `log`.
fn spawn_logged(name: &str, mut cmd: Command, log: &std::fs::File) -> Result<u32> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not start {name} ({:?}): {e}", cmd.get_program()))?;
    Ok(child.id())
}

async fn wait_port(name: &str, port: u16, timeout: Duration, pid: u32) -> Result<()> {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if !alive(pid) {
            return Err(format!("{name} exited before listening on 127.0.0.1:{port}; see its log").into());
        }
        if start.elapsed() > timeout {
            return Err(format!("{name} did not listen on 127.0.0.1:{port} within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn configure_moto(moto: &str) -> Result<()> {
    let r = send(
        Method::POST,
        &format!("{moto}/moto-api/config"),
        &[("content-type", "application/json".into())],
        r#"{"stepfunctions":{"execute_state_machine":true}}"#,
    )
    .await?;
    if r.status >= 300 {
        return Err(format!("moto config: {} {}", r.status, r.body).into());
    }
    Ok(())
}

/// The key of a function's settings, and the prefix of its instances' process names.
fn function_key(step: &Step) -> String {
    format!("fn-{}", step.binary())
}

/// Where cargo puts the debug binaries (`CARGO_TARGET_DIR`, or `target/` under the root).
fn debug_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target")).join("debug")
}

/// A function's debug binary; built by `make build` (or by `make test`'s one build).
fn binary(root: &Path, step: &Step) -> Result<PathBuf> {
    let path = debug_dir(root).join(step.binary());
    if !path.is_file() {
        return Err(format!("{} is not built (`make build` builds every function)", path.display()).into());
    }
    Ok(path)
}

/// What each function's instances are started with, by function key: their count, their
/// variables, and when their binary was built (so a reset that keeps the running functions
/// still starts a rebuilt one again).
fn function_settings(opts: &Options, infra: &Infra) -> Result<BTreeMap<String, String>> {
    let values: BTreeMap<String, String> = infra.lambda_env().into_iter().collect();
    let mut settings = BTreeMap::new();
    for step in &STEPS {
        let built = std::fs::metadata(binary(&opts.root, step)?)?.modified()?;
        let built = built.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let mut line = format!("instances={};built={built}", opts.concurrency);
        for var in step.env_vars() {
            let v = values.get(var).ok_or_else(|| format!("the local stack has no value for {var}, which {} reads", step.binary()))?;
            line.push_str(&format!(";{var}={v}"));
        }
        settings.insert(function_key(step), line);
    }
    Ok(settings)
}

/// Starts `cargo lambda watch --only-lambda-apis`: the runtime API the functions' instances
/// poll and the invoke API the router sends invocations to.
fn start_runtime_api(opts: &Options, port: u16) -> Result<u32> {
    let mut cmd = Command::new("cargo");
    cmd.args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()]).current_dir(&opts.root);
    spawn(RUNTIME_API, cmd, &opts.dir.join("logs"))
}

/// Starts `--concurrency` instances of each function in `only` (every function when None),
/// with the AWS settings of the local stack and exactly the function's own variables; the
/// instances of a function share its log file.
fn start_functions(
    opts: &Options,
    infra: &Infra,
    endpoint: &str,
    runtime_api: &str,
    only: Option<&[String]>,
) -> Result<BTreeMap<String, u32>> {
    let values: BTreeMap<String, String> = infra.lambda_env().into_iter().collect();
    let mut pids = BTreeMap::new();
    for step in STEPS.iter().filter(|s| only.is_none_or(|o| o.contains(&function_key(s)))) {
        let bin = binary(&opts.root, step)?;
        let log = std::fs::File::create(opts.dir.join("logs").join(format!("{}.log", step.binary())))?;
        for instance in 1..=opts.concurrency {
            let mut cmd = Command::new(&bin);
            cmd.current_dir(&opts.root)
                .env("AWS_LAMBDA_RUNTIME_API", format!("{runtime_api}/.rt/{}", step.binary()))
                .env("AWS_LAMBDA_FUNCTION_NAME", step.binary())
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_ENDPOINT_URL", endpoint)
                .env("AWS_REGION", REGION)
                .env("AWS_DEFAULT_REGION", REGION)
                .env("AWS_ACCESS_KEY_ID", LAMBDA_ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", "berth-local-secret")
                .env_remove("AWS_PROFILE")
                .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()));
            for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("BERTH_")) {
                cmd.env_remove(k);
            }
            for var in step.env_vars() {
                let v = values.get(var).ok_or_else(|| format!("the local stack has no value for {var}, which {} reads", step.binary()))?;
                cmd.env(var, v);
            }
            let name = format!("{}-{instance}", function_key(step));
            pids.insert(name.clone(), spawn_logged(&name, cmd, &log)?);
        }
    }
    Ok(pids)
}

/// Invokes every function once with an empty event through the router: checks that each is
/// up and that a handler error comes back as Lambda reports it (200 + X-Amz-Function-Error)
/// with berth's error name. A function whose instances exited (a missing variable, say)
/// is named with its log.
async fn warm(endpoint: &str, dir: &Path, pids: &BTreeMap<String, u32>) -> Result<()> {
    for step in &STEPS {
        let bin = step.binary();
        let url = format!("{endpoint}/2015-03-31/functions/{}/invocations", crate::http::encode(&bootstrap::function_arn(&bin)));
        let log = dir.join("logs").join(format!("{bin}.log"));
        let headers = [("content-type", "application/json".to_string())];
        let invoke = send(Method::POST, &url, &headers, "{}");
        let running = || pids.iter().any(|(k, p)| k.starts_with(&format!("{}-", function_key(step))) && alive(*p));
        let r = tokio::select! {
            r = invoke => r?,
            _ = async { while running() { tokio::time::sleep(Duration::from_millis(200)).await } } => {
                return Err(format!("{bin} exited before answering; see {}", log.display()).into());
            }
            _ = tokio::time::sleep(Duration::from_secs(60)) => {
                return Err(format!("{bin} did not answer within 60 s; see {}", log.display()).into());
            }
        };
        if r.status != 200 || !r.body.contains("Berth.InvalidRequest") {
            return Err(format!("warming {bin}: expected 200 with Berth.InvalidRequest, got {} {}", r.status, r.body).into());
        }
    }
    Ok(())
}

/// The Python that `moto_server` (on PATH, from the emulator's venv) runs with.
fn moto_python() -> Result<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|f| f.is_file())
        .and_then(|f| f.parent().map(|d| d.join("python3")))
        .filter(|p| p.exists())
        .ok_or_else(|| "moto_server is not on PATH (make tools installs it)".into())
}

/// Starts moto, the router and the Lambdas, bootstraps the emulator, and records it all.
pub async fn up(opts: &Options) -> Result<Stack> {
    std::fs::create_dir_all(opts.dir.join("logs"))?;
    if let Ok(existing) = load(&opts.dir) {
        if existing.pids.values().any(|p| alive(*p)) {
            return Err(format!("a local stack is already running from {} (stop it with `make local-down`)", opts.dir.display()).into());
        }
    }
    let (moto_port, router_port, runtime_port) = (free_port()?, free_port()?, free_port()?);
    let moto = format!("http://127.0.0.1:{moto_port}");
    let endpoint = format!("http://127.0.0.1:{router_port}");
    let runtime_api = format!("http://127.0.0.1:{runtime_port}");
    let logs = opts.dir.join("logs");
    let mut pids = BTreeMap::new();

    let result = async {
        // The functions' binaries first: a missing one is said before anything starts.
        for step in &STEPS {
            binary(&opts.root, step)?;
        }
        // moto_server's own Python (the emulator's venv), running berth's launcher of it.
        let mut cmd = Command::new(moto_python()?);
        cmd.arg(opts.root.join("crates/berth-local/python/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .env("MOTO_PORT", router_port.to_string())
            .env("MOTO_ECS_SERVICE_RUNNING", "1")
            // ACM issues a DNS-validated certificate 2 s after its request (AWS: once the
            // validation record resolves, minutes); moto does not look at the record.
            .env("MOTO_ACM_VALIDATION_WAIT", "2")
            .env("AWS_ACCESS_KEY_ID", "moto")
            .env("AWS_SECRET_ACCESS_KEY", "moto");
        let moto_pid = spawn("moto", cmd, &logs)?;
        pids.insert("moto".to_string(), moto_pid);

        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["router", "--listen", &format!("127.0.0.1:{router_port}"), "--moto", &moto]);
        for step in &STEPS {
            cmd.args(["--lambda", &format!("{}={runtime_api}", step.binary())]);
        }
        cmd.args(["--lambda-concurrency", &opts.concurrency.to_string()]);
        if opts.rate_limits {
            cmd.arg("--aws-rate-limits");
        }
        let router_pid = spawn("router", cmd, &logs)?;
        pids.insert("router".to_string(), router_pid);
        let runtime_pid = start_runtime_api(opts, runtime_port)?;
        pids.insert(RUNTIME_API.to_string(), runtime_pid);

        wait_port("moto", moto_port, Duration::from_secs(60), moto_pid).await?;
        wait_port("router", router_port, Duration::from_secs(10), router_pid).await?;
        wait_port(RUNTIME_API, runtime_port, Duration::from_secs(60), runtime_pid).await?;
        configure_moto(&moto).await?;
        let infra = bootstrap::bootstrap(&endpoint, &opts.root, &opts.pool).await?;

        let functions = start_functions(opts, &infra, &endpoint, &runtime_api, None)?;
        pids.extend(functions.clone());
        warm(&endpoint, &opts.dir, &functions).await?;
        Ok::<Infra, crate::Error>(infra)
    }
    .await;

    match result {
        Ok(infra) => {
            let stack = Stack {
                endpoint,
                region: REGION.into(),
                account: ACCOUNT.into(),
                state_machine_arn: infra.state_machine("berth-onboard").to_string(),
                moto_endpoint: moto,
                runtime_api,
                pids,
                function_settings: function_settings(opts, &infra)?,
                environment: infra.lambda_env().into_iter().collect(),
                infra,
            };
            save(&opts.dir, &stack)?;
            Ok(stack)
        }
        Err(e) => {
            stop(&pids);
            Err(e)
        }
    }
}

fn stop(pids: &BTreeMap<String, u32>) {
    for pid in pids.values() {
        signal_group(*pid, "-TERM");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && pids.values().any(|p| alive(*p)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for pid in pids.values() {
        if alive(*pid) {
            signal_group(*pid, "-KILL");
        }
    }
}

/// The processes named in a line: the others by name, the functions' instances counted.
pub fn summary(names: &[String]) -> String {
    let instances = names.iter().filter(|n| n.starts_with("fn-")).count();
    let mut parts: Vec<String> = names.iter().filter(|n| !n.starts_with("fn-")).cloned().collect();
    if instances > 0 {
        parts.push(format!("{instances} function instances"));
    }
    parts.join(", ")
}

/// Stops what `up` started, by the PIDs it recorded.
pub fn down(dir: &Path) -> Result<Vec<String>> {
    let Ok(stack) = load(dir) else { return Ok(Vec::new()) };
    stop(&stack.pids);
    std::fs::remove_file(stack_file(dir))?;
    Ok(stack.pids.keys().cloned().collect())
}

/// Empties the emulator and bootstraps it again (a fresh suite); restarts the Lambdas with
/// the new infrastructure's configuration.
pub async fn reset(opts: &Options) -> Result<Stack> {
    let mut stack = load(&opts.dir)?;
    let r = send(Method::POST, &format!("{}/moto-api/reset", stack.moto_endpoint), &[], "").await?;
    if r.status >= 300 {
        return Err(format!("moto reset: {} {}", r.status, r.body).into());
    }
    configure_moto(&stack.moto_endpoint).await?;
    let infra = bootstrap::bootstrap(&stack.endpoint, &opts.root, &opts.pool).await?;
    // The functions to start again: all of them, or with --keep-lambdas those whose settings
    // or binary changed (or with an instance gone).
    let settings = function_settings(opts, &infra)?;
    let instances_alive = |key: &str| stack.pids.iter().filter(|(k, _)| k.starts_with(&format!("{key}-"))).all(|(_, p)| alive(*p));
    let restart: Vec<String> = settings
        .iter()
        .filter(|(k, v)| !opts.keep_lambdas || stack.function_settings.get(*k) != Some(*v) || !instances_alive(k))
        .map(|(k, _)| k.clone())
        .collect();
    let of_restarted = |k: &String| restart.iter().any(|key| k.starts_with(&format!("{key}-")));
    let old: BTreeMap<String, u32> = stack.pids.iter().filter(|(k, _)| of_restarted(k)).map(|(k, v)| (k.clone(), *v)).collect();
    stop(&old);
    stack.pids.retain(|k, _| !of_restarted(k));
    let started = start_functions(opts, &infra, &stack.endpoint, &stack.runtime_api, Some(&restart))?;
    stack.pids.extend(started);
    stack.function_settings = settings;
    save(&opts.dir, &stack)?;
    warm(&stack.endpoint, &opts.dir, &stack.pids).await?;
    stack.state_machine_arn = infra.state_machine("berth-onboard").to_string();
    stack.environment = infra.lambda_env().into_iter().collect();
    stack.infra = infra;
    save(&opts.dir, &stack)?;
    Ok(stack)
}
