//! The local stack: moto on 127.0.0.1, the router on moto's `MOTO_PORT`, and `cargo lambda
//! watch` serving the Lambdas, each in its own process group with its PID recorded in
//! `<dir>/stack.json`, so `down` stops exactly what `up` started.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::bootstrap::{self, Infra, FUNCTIONS};
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
    pub lambda_endpoint: String,
    /// Process name to PID (each the leader of its own process group).
    pub pids: BTreeMap<String, u32>,
    pub infra: Infra,
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

fn start_watch(opts: &Options, infra: &Infra, endpoint: &str, port: u16) -> Result<u32> {
    let logs = opts.dir.join("logs");
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
    for (k, v) in infra.lambda_env() {
        cmd.env(k, v);
    }
    spawn("cargo-lambda-watch", cmd, &logs)
}

/// Invokes every function once with an empty event through the router: starts them, and
/// checks that a handler error comes back as Lambda reports it (200 + X-Amz-Function-Error)
/// with berth's error name.
async fn warm(endpoint: &str) -> Result<()> {
    for (bin, _) in FUNCTIONS {
        let url = format!("{endpoint}/2015-03-31/functions/{}/invocations", crate::http::encode(&bootstrap::function_arn(bin)));
        let r = send(Method::POST, &url, &[("content-type", "application/json".into())], "{}").await?;
        if r.status != 200 || !r.body.contains("Berth.InvalidRequest") {
            return Err(format!("warming {bin}: expected 200 with Berth.InvalidRequest, got {} {}", r.status, r.body).into());
        }
    }
    Ok(())
}

/// Starts moto, the router and the Lambdas, bootstraps the emulator, and records it all.
pub async fn up(opts: &Options) -> Result<Stack> {
    std::fs::create_dir_all(opts.dir.join("logs"))?;
    if let Ok(existing) = load(&opts.dir) {
        if existing.pids.values().any(|p| alive(*p)) {
            return Err(format!("a local stack is already running from {} (stop it with `make local-down`)", opts.dir.display()).into());
        }
    }
    let (moto_port, router_port, lambda_port) = (free_port()?, free_port()?, free_port()?);
    let moto = format!("http://127.0.0.1:{moto_port}");
    let endpoint = format!("http://127.0.0.1:{router_port}");
    let lambda = format!("http://127.0.0.1:{lambda_port}");
    let logs = opts.dir.join("logs");
    let mut pids = BTreeMap::new();

    let result = async {
        let mut cmd = Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .env("MOTO_PORT", router_port.to_string())
            .env("MOTO_ECS_SERVICE_RUNNING", "1")
            .env("AWS_ACCESS_KEY_ID", "moto")
            .env("AWS_SECRET_ACCESS_KEY", "moto");
        let moto_pid = spawn("moto", cmd, &logs)?;
        pids.insert("moto".to_string(), moto_pid);

        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["router", "--listen", &format!("127.0.0.1:{router_port}"), "--moto", &moto, "--lambda", &lambda]);
        cmd.args(["--lambda-concurrency", &opts.concurrency.to_string()]);
        let router_pid = spawn("router", cmd, &logs)?;
        pids.insert("router".to_string(), router_pid);

        wait_port("moto", moto_port, Duration::from_secs(60), moto_pid).await?;
        wait_port("router", router_port, Duration::from_secs(10), router_pid).await?;
        configure_moto(&moto).await?;
        let infra = bootstrap::bootstrap(&endpoint, &opts.root, &opts.pool).await?;

        let watch_pid = start_watch(opts, &infra, &endpoint, lambda_port)?;
        pids.insert("cargo-lambda-watch".to_string(), watch_pid);
        wait_port("cargo lambda watch", lambda_port, Duration::from_secs(300), watch_pid).await?;
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
                lambda_endpoint: lambda,
                pids,
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
    if let Some(pid) = stack.pids.get("cargo-lambda-watch") {
        stop(&BTreeMap::from([("watch".to_string(), *pid)]));
    }
    let lambda_port: u16 = stack.lambda_endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or("bad lambda endpoint")?;
    let pid = start_watch(opts, &infra, &stack.endpoint, lambda_port)?;
    stack.pids.insert("cargo-lambda-watch".into(), pid);
    save(&opts.dir, &stack)?;
    wait_port("cargo lambda watch", lambda_port, Duration::from_secs(300), pid).await?;
    warm(&stack.endpoint).await?;
    stack.state_machine_arn = infra.state_machine("berth-onboard").to_string();
    stack.infra = infra;
    save(&opts.dir, &stack)?;
    Ok(stack)
}
