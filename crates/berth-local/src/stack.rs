//! The local stack: moto on 127.0.0.1, the router on moto's `MOTO_PORT`, and one `cargo
//! lambda watch` per Lambda, each in its own process group with its PID recorded in
//! `<dir>/stack.json`, so `down` stops exactly what `up` started. Each Lambda's watch has
//! exactly the deployment variables the step table (and so the template) gives that
//! function: a variable a function reads but is not given fails here as it would on AWS.

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
    /// Each function's `cargo lambda watch` (the router sends invocations there).
    pub lambda_endpoints: BTreeMap<String, String>,
    /// Process name to PID (each the leader of its own process group).
    pub pids: BTreeMap<String, u32>,
    pub infra: Infra,
    /// Each running `cargo lambda watch`'s settings (its environment and concurrency), by
    /// process name.
    #[serde(default)]
    pub watch_settings: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Where stack.json and the logs go.
    pub dir: PathBuf,
    /// The workspace root (state machine files, the Lambdas' sources).
    pub root: PathBuf,
    /// Concurrent instances per function in `cargo lambda watch`.
    pub concurrency: u32,
    /// The ALB pool the bootstrap makes.
    pub pool: bootstrap::PoolOptions,
    /// The router enforces AWS's API request rates on berth's functions from the start
    /// (see [`crate::limits`]; tests may also turn them on and off at run time).
    pub rate_limits: bool,
    /// A reset keeps the functions whose settings are unchanged running (no rebuild).
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

fn spawn(name: &str, mut cmd: Command, logs: &Path) -> Result<u32> {
    let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
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

/// Each function's `cargo lambda watch`, started with the AWS settings of the local stack
/// and exactly the function's own variables.
/// What each function's `cargo lambda watch` is started with, by process name: its
/// environment from the stack and its concurrency.
fn watch_settings(opts: &Options, infra: &Infra) -> Result<BTreeMap<String, String>> {
    let values: BTreeMap<String, String> = infra.lambda_env().into_iter().collect();
    let mut settings = BTreeMap::new();
    for step in &STEPS {
        let mut line = format!("concurrency={}", opts.concurrency);
        for var in step.env_vars() {
            let v = values.get(var).ok_or_else(|| format!("the local stack has no value for {var}, which {} reads", step.binary()))?;
            line.push_str(&format!(";{var}={v}"));
        }
        settings.insert(watch_key(step), line);
    }
    Ok(settings)
}

/// Starts `cargo lambda watch` for each step in `only` (every step when None).
fn start_watches(
    opts: &Options,
    infra: &Infra,
    endpoint: &str,
    endpoints: &BTreeMap<String, String>,
    only: Option<&[String]>,
) -> Result<BTreeMap<String, u32>> {
    let values: BTreeMap<String, String> = infra.lambda_env().into_iter().collect();
    let mut pids = BTreeMap::new();
    for step in STEPS.iter().filter(|s| only.is_none_or(|o| o.contains(&watch_key(s)))) {
        let port = port_of(endpoints, step)?;
        let mut cmd = Command::new("cargo");
        cmd.args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()])
            .args(["--concurrency", &opts.concurrency.to_string()])
            .current_dir(&opts.root)
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
        pids.insert(watch_key(step), spawn(&watch_key(step), cmd, &opts.dir.join("logs"))?);
    }
    Ok(pids)
}

fn watch_key(step: &Step) -> String {
    format!("watch-{}", step.binary())
}

fn port_of(endpoints: &BTreeMap<String, String>, step: &Step) -> Result<u16> {
    endpoints
        .get(&step.binary())
        .and_then(|e| e.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("no local endpoint for {}", step.binary()).into())
}

async fn wait_watches(endpoints: &BTreeMap<String, String>, pids: &BTreeMap<String, u32>) -> Result<()> {
    for step in STEPS.iter().filter(|s| pids.contains_key(&watch_key(s))) {
        let pid = pids.get(&watch_key(step)).copied().unwrap_or_default();
        wait_port(&watch_key(step), port_of(endpoints, step)?, Duration::from_secs(300), pid).await?;
    }
    Ok(())
}

/// Invokes every function once with an empty event through the router: starts them, and
/// checks that a handler error comes back as Lambda reports it (200 + X-Amz-Function-Error)
/// with berth's error name.
async fn warm(endpoint: &str) -> Result<()> {
    for step in &STEPS {
        let bin = step.binary();
        let url = format!("{endpoint}/2015-03-31/functions/{}/invocations", crate::http::encode(&bootstrap::function_arn(&bin)));
        let r = send(Method::POST, &url, &[("content-type", "application/json".into())], "{}").await?;
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
    let (moto_port, router_port) = (free_port()?, free_port()?);
    let moto = format!("http://127.0.0.1:{moto_port}");
    let endpoint = format!("http://127.0.0.1:{router_port}");
    let mut lambdas = BTreeMap::new();
    for step in &STEPS {
        lambdas.insert(step.binary(), format!("http://127.0.0.1:{}", free_port()?));
    }
    let logs = opts.dir.join("logs");
    let mut pids = BTreeMap::new();

    let result = async {
        // moto_server's own Python (the emulator's venv), running berth's launcher of it.
        let mut cmd = Command::new(moto_python()?);
        cmd.arg(opts.root.join("crates/berth-local/python/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .env("MOTO_PORT", router_port.to_string())
            .env("MOTO_ECS_SERVICE_RUNNING", "1")
            .env("AWS_ACCESS_KEY_ID", "moto")
            .env("AWS_SECRET_ACCESS_KEY", "moto");
        let moto_pid = spawn("moto", cmd, &logs)?;
        pids.insert("moto".to_string(), moto_pid);

        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["router", "--listen", &format!("127.0.0.1:{router_port}"), "--moto", &moto]);
        for (f, url) in &lambdas {
            cmd.args(["--lambda", &format!("{f}={url}")]);
        }
        cmd.args(["--lambda-concurrency", &opts.concurrency.to_string()]);
        if opts.rate_limits {
            cmd.arg("--aws-rate-limits");
        }
        let router_pid = spawn("router", cmd, &logs)?;
        pids.insert("router".to_string(), router_pid);

        wait_port("moto", moto_port, Duration::from_secs(60), moto_pid).await?;
        wait_port("router", router_port, Duration::from_secs(10), router_pid).await?;
        configure_moto(&moto).await?;
        let infra = bootstrap::bootstrap(&endpoint, &opts.root, &opts.pool).await?;

        let watches = start_watches(opts, &infra, &endpoint, &lambdas, None)?;
        pids.extend(watches.clone());
        wait_watches(&lambdas, &watches).await?;
        warm(&endpoint).await?;
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
                lambda_endpoints: lambdas,
                pids,
                watch_settings: watch_settings(opts, &infra)?,
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
    // changed (or whose process is gone).
    let settings = watch_settings(opts, &infra)?;
    let restart: Vec<String> = settings
        .iter()
        .filter(|(k, v)| !opts.keep_lambdas || stack.watch_settings.get(*k) != Some(*v) || !stack.pids.get(*k).is_some_and(|p| alive(*p)))
        .map(|(k, _)| k.clone())
        .collect();
    let old: BTreeMap<String, u32> = stack.pids.iter().filter(|(k, _)| restart.contains(k)).map(|(k, v)| (k.clone(), *v)).collect();
    stop(&old);
    stack.pids.retain(|k, _| !restart.contains(k));
    let watches = start_watches(opts, &infra, &stack.endpoint, &stack.lambda_endpoints, Some(&restart))?;
    stack.pids.extend(watches.clone());
    stack.watch_settings = settings;
    save(&opts.dir, &stack)?;
    wait_watches(&stack.lambda_endpoints, &watches).await?;
    warm(&stack.endpoint).await?;
    stack.state_machine_arn = infra.state_machine("berth-onboard").to_string();
    stack.infra = infra;
    save(&opts.dir, &stack)?;
    Ok(stack)
}
