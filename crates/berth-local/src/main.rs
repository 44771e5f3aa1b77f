//! `berth-local`: the local loop's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_local::runner::{self, Report};
use berth_local::stack::{self, Options};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "berth-local", about = "berth's local loop on the moto emulator")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Clone)]
struct StackArgs {
    /// Where stack.json and the logs live.
    #[arg(long, default_value = ".local")]
    dir: PathBuf,
    /// The berth workspace root.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Concurrent instances per function.
    #[arg(long, default_value_t = 4)]
    concurrency: u32,
    /// ALBs in the local pool.
    #[arg(long, default_value_t = 1)]
    albs: u32,
    /// Listener-rule quota of each local ALB.
    #[arg(long, default_value_t = berth_domain::pool::DEFAULT_RULE_QUOTA)]
    rule_quota: u32,
    /// Target-group quota of each local ALB.
    #[arg(long, default_value_t = berth_domain::pool::DEFAULT_TARGET_GROUP_QUOTA)]
    target_group_quota: u32,
}

impl StackArgs {
    fn options(&self) -> Options {
        Options {
            dir: self.dir.clone(),
            root: self.root.clone(),
            concurrency: self.concurrency,
            pool: berth_local::bootstrap::PoolOptions {
                albs: self.albs,
                rule_quota: self.rule_quota,
                target_group_quota: self.target_group_quota,
            },
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// The invocation router (started by `up`).
    Router {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        moto: String,
        #[arg(long)]
        lambda: String,
    },
    /// Start moto, the router and the Lambdas; bootstrap the emulator; leave it running.
    Up(StackArgs),
    /// Stop what `up` started.
    Down(StackArgs),
    /// Empty the emulator and bootstrap it again.
    Reset(StackArgs),
    /// Start an onboarding execution and follow it.
    Run {
        #[command(flatten)]
        stack: StackArgs,
        /// The execution input.
        #[arg(long, default_value = "events/onboard.json")]
        input: PathBuf,
        /// Execution name (default: generated).
        #[arg(long)]
        name: Option<String>,
    },
    /// The whole job on a fresh emulator: up, onboard the sample customer, report, down.
    Demo {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long, default_value = "events/onboard.json")]
        input: PathBuf,
    },
    /// API calls counted by the router.
    Stats(StackArgs),
}

fn print_report(r: &Report) {
    println!();
    println!("execution  {}", r.execution_arn);
    println!("status     {}", r.status);
    if let Some(e) = &r.error {
        println!("error      {e}");
        println!("cause      {}", r.cause.as_deref().unwrap_or(""));
    }
    if let Some(o) = &r.output {
        if let Some(url) = o.get("url").and_then(|v| v.as_str()) {
            println!("url        {url}");
        }
        if let Some(p) = o.get("priorities") {
            println!("priorities {p}");
        }
        println!("outputs");
        println!("{}", serde_json::to_string_pretty(o).unwrap_or_default());
    }
    println!("execution duration  {} ms (from the execution's start and stop dates)", r.execution_ms);
    println!("wall time           {} ms", r.wall_ms);
    println!("state transitions   {}", r.transitions);
    println!("AWS API calls       {} (by the Lambdas, counted at the router)", r.api_total());
    for (k, v) in &r.api_calls {
        println!("  {v:>3}  {k}");
    }
    println!("Lambda invocations  {}", r.invocations.values().sum::<u64>());
}

async fn follow(args: &StackArgs, input: &PathBuf, name: Option<&str>) -> berth_local::Result<Report> {
    let stack = stack::load(&args.dir)?;
    let text = std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let input: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", input.display()))?;
    println!("onboarding {} on {}", input.get("customer_id").and_then(|v| v.as_str()).unwrap_or("?"), stack.state_machine_arn);
    runner::run(&stack, &stack.state_machine_arn, &input, name, Duration::from_secs(600), |s| {
        println!("  done  {:<14} {:>6} ms", s.state, s.ms)
    })
    .await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: berth_local::Result<bool> = async {
        match cli.command {
            Cmd::Router { listen, moto, lambda } => {
                berth_local::router::serve(listen, moto, lambda).await?;
                Ok(true)
            }
            Cmd::Up(args) => {
                let s = stack::up(&args.options()).await?;
                println!("local stack up");
                println!("  endpoint           {}", s.endpoint);
                println!("  state machine      {}", s.state_machine_arn);
                println!("  region             {}", s.region);
                println!("  stack file         {}", stack::stack_file(&args.dir).display());
                println!("start an execution: AWS_ENDPOINT_URL={} aws stepfunctions start-execution --state-machine-arn {} --input file://events/onboard.json", s.endpoint, s.state_machine_arn);
                Ok(true)
            }
            Cmd::Down(args) => {
                let stopped = stack::down(&args.dir)?;
                println!("stopped: {}", if stopped.is_empty() { "nothing was running".to_string() } else { stopped.join(", ") });
                Ok(true)
            }
            Cmd::Reset(args) => {
                let s = stack::reset(&args.options()).await?;
                println!("emulator reset; state machine {}", s.state_machine_arn);
                Ok(true)
            }
            Cmd::Run { stack: args, input, name } => {
                let r = follow(&args, &input, name.as_deref()).await?;
                print_report(&r);
                Ok(r.status == "SUCCEEDED")
            }
            Cmd::Demo { stack: args, input } => {
                let t = Instant::now();
                println!("starting the emulator, the router and the Lambdas...");
                let s = stack::up(&args.options()).await?;
                println!("  up in {:.1} s: endpoint {}", t.elapsed().as_secs_f64(), s.endpoint);
                let r = follow(&args, &input, None).await;
                let stopped = stack::down(&args.dir);
                let r = r?;
                print_report(&r);
                println!("stopped: {}", stopped?.join(", "));
                println!("demo wall time      {:.1} s", t.elapsed().as_secs_f64());
                Ok(r.status == "SUCCEEDED")
            }
            Cmd::Stats(args) => {
                let s = stack::load(&args.dir)?;
                println!("{}", serde_json::to_string_pretty(&berth_local::router::stats(&s.endpoint).await?)?);
                Ok(true)
            }
        }
    }
    .await;
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("berth-local: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
