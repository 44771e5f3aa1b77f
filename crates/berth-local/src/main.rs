//! `berth-local`: the local loop's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_local::figures;
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
    /// Certificate quota of each local ALB (beside its default certificate).
    #[arg(long, default_value_t = berth_domain::pool::DEFAULT_CERTIFICATE_QUOTA)]
    certificate_quota: u32,
    /// How products on hosts of their own are named (the deployment's ProductHostForm).
    #[arg(long, default_value = "dashed", value_parser = host_form)]
    product_host_form: berth_domain::naming::HostForm,
    /// Enforce AWS's API request rates on berth's functions (token buckets per account and
    /// API, answered with each service's throttling error).
    #[arg(long)]
    aws_rate_limits: bool,
    /// On reset, keep running each function whose variables, instance count and binary are
    /// unchanged (the suites of `make test` reset this way).
    #[arg(long)]
    keep_lambdas: bool,
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
                certificate_quota: self.certificate_quota,
                product_host_form: self.product_host_form,
            },
            rate_limits: self.aws_rate_limits,
            keep_lambdas: self.keep_lambdas,
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
        /// A function and the Lambda invoke API serving it (`berth-check=http://127.0.0.1:9001`),
        /// once per function.
        #[arg(long = "lambda", value_parser = function_endpoint)]
        lambdas: Vec<(String, String)>,
        /// Invocations of one function in flight at once (its instances); more wait
        /// their turn. 0: no limit.
        #[arg(long, default_value_t = 0)]
        lambda_concurrency: usize,
        /// Enforce AWS's API request rates on berth's functions.
        #[arg(long)]
        aws_rate_limits: bool,
    },
    /// Start moto, the router and the Lambdas; bootstrap the emulator; leave it running.
    Up(StackArgs),
    /// Stop what `up` started.
    Down(StackArgs),
    /// Empty the emulator and bootstrap it again.
    Reset(StackArgs),
    /// Start an execution (an onboarding, or another machine's) and follow it.
    Run {
        #[command(flatten)]
        stack: StackArgs,
        /// The state machine: berth-onboard, berth-suspend, berth-resume, berth-offboard.
        #[arg(long, default_value = "berth-onboard")]
        machine: String,
        /// The execution input (events/suspend.json for berth-suspend, and so on).
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
    /// Fleet rollouts, timed, on a running stack (reset first): onboards each count of
    /// customers (20 at a time), then moves them to a new tag with one rollout without and
    /// one with AWS's request rates.
    RolloutBench {
        #[command(flatten)]
        stack: StackArgs,
        /// Fleet sizes, each on a fresh emulator.
        #[arg(long, value_delimiter = ',', default_value = "12,100")]
        customers: Vec<u32>,
        #[arg(long, default_value_t = 10)]
        wave_size: u32,
        #[arg(long, default_value_t = 10)]
        max_concurrency: u32,
    },
    /// The lifecycle figures alone, on a running stack (reset first): onboards `runs`
    /// customers, then updates each (new tags, a product added, removed), suspends, resumes
    /// and offboards each.
    LifecycleBench {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long, default_value_t = 10)]
        runs: u32,
    },
    /// The packing figure alone (part of `bench`; no stack): customers of a mix of products,
    /// tiers and own domains arriving and leaving, placed by berth (the in-memory registry)
    /// and by first-fit, best-fit and spreading, for both forms of a product's own host.
    PackingBench {
        #[arg(long, default_value_t = 100)]
        albs: u32,
        #[arg(long, default_value_t = 10_000)]
        arrivals: u32,
        /// The chance, per mille, that a customer leaves after each arrival.
        #[arg(long, default_value_t = 200)]
        leave_per_mille: u64,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Onboardings of one product on a host of its own against three, on a fresh reset:
    /// execution duration, state transitions and AWS API calls by service (part of `bench`).
    ProductsBench {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long, default_value_t = 5)]
        runs: u32,
    },
    /// The portal's events alone, on a fresh reset: the intake per request event through a
    /// local invoke, and outcome events to the portal's queue (part of `bench`).
    EventsBench {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long, default_value_t = 20)]
        runs: u32,
    },
    /// Every figure of `make bench`, on a running stack (reset between parts): pipeline
    /// overhead, API calls and cost per onboarding, many onboardings at once, allocation
    /// against the naive allocator, zip sizes and handler latencies. Prints them and writes
    /// them to --out.
    Bench {
        #[command(flatten)]
        stack: StackArgs,
        /// Sequential onboardings for the overhead figures.
        #[arg(long, default_value_t = 20)]
        runs: u32,
        /// Onboardings started at once.
        #[arg(long, default_value_t = 200)]
        concurrent: u32,
        /// ALBs in the pool for the concurrent onboardings.
        #[arg(long, default_value_t = 5)]
        concurrent_albs: u32,
        /// Concurrent callers of the allocators.
        #[arg(long, default_value_t = 50)]
        callers: u32,
        /// Where `make package` left the zips.
        #[arg(long, default_value = "target/lambda")]
        lambda_dir: PathBuf,
        #[arg(long, default_value = "docs/benchmarks.md")]
        out: PathBuf,
    },
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

async fn follow(args: &StackArgs, machine: &str, input: &PathBuf, name: Option<&str>) -> berth_local::Result<Report> {
    let stack = stack::load(&args.dir)?;
    let text = std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let input: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", input.display()))?;
    let arn = stack.infra.state_machine(machine).to_string();
    if arn.is_empty() {
        return Err(
            format!("no state machine {machine} on the local stack (berth-onboard, berth-suspend, berth-resume, berth-offboard)").into()
        );
    }
    println!("{machine}: {} on {arn}", input.get("customer_id").and_then(|v| v.as_str()).unwrap_or("?"));
    runner::run_live(&stack, &arn, &input, name, Duration::from_secs(600), &mut |s| println!("  done  {:<14} {:>6} ms", s.state, s.ms))
        .await
}

/// `name=url`.
fn function_endpoint(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(f, u)| (f.to_string(), u.to_string())).ok_or_else(|| format!("{s}: expected FUNCTION=URL"))
}

fn part(name: &str) -> Instant {
    eprintln!("bench: {name}");
    Instant::now()
}

fn done(t: Instant) {
    eprintln!("bench:   done in {:.1} s", t.elapsed().as_secs_f64());
}

async fn bench(
    args: &StackArgs,
    runs: u32,
    concurrent: u32,
    concurrent_albs: u32,
    callers: u32,
    lambda_dir: &std::path::Path,
) -> berth_local::Result<figures::Figures> {
    let root = args.root.clone();
    // The zips first: without them there is nothing to report on sizes.
    let zips = figures::zip_sizes(&root.join(lambda_dir))?;
    let base = args.options();

    let t = part(&format!("{runs} onboardings, one after another"));
    let s = stack::reset(&base).await?;
    let pipeline = figures::pipeline(&s, &root, runs, "seq").await?;
    done(t);

    let t = part("each Lambda through a local invoke");
    let handlers = figures::handler_latencies(&s, &root, 5).await?;
    done(t);

    let t = part("update, suspend, resume and offboard, one customer after another");
    let customers: Vec<String> = (0..runs.min(10)).map(|i| format!("seq-{i:02}")).collect();
    let lifecycle = figures::lifecycle(&s, &root, &customers).await?;
    done(t);

    let t = part("the portal's events: the intake per request event, outcome to the portal's queue");
    let events = figures::portal_events(&s, &root, runs).await?;
    done(t);

    let t = part("one product on a host of its own against three");
    let products = figures::products(&s, &root, 5).await?;
    done(t);

    let t = part(&format!("{concurrent} onboardings at once, {concurrent_albs} ALBs in the pool"));
    let mut wide = base.clone();
    wide.pool.albs = concurrent_albs;
    let s = stack::reset(&wide).await?;
    let concurrent = figures::concurrent(&s, &root, concurrent).await?;
    done(t);

    let t = part("packing: 10,000 customers arriving and leaving over 100 ALBs, in memory");
    let mut packing = Vec::new();
    for form in [berth_local::packing::HostForm::Dashed, berth_local::packing::HostForm::Dotted] {
        packing.push(berth_local::packing::packing(100, 10_000, 200, form, 2026).await?);
    }
    done(t);

    let t = part("allocation: berth's allocator");
    let s = stack::reset(&base).await?;
    // Throughput first, while the table is small: the emulator copies the whole table on
    // every transaction, which a large table makes slow.
    let per_caller = 4;
    let (per_second, duplicates, ledger_duplicates, _) = berth_local::bench::throughput(&s, callers, per_caller).await?;
    let mut requests = Vec::new();
    for placed in [10, 5000] {
        let (per, by_op) = berth_local::bench::requests_per_placement(&s, placed, 5).await?;
        requests.push((placed, per, by_op));
    }
    let allocation =
        figures::Allocation { requests, callers, allocations: callers * per_caller, per_second, duplicates, ledger_duplicates };
    done(t);

    let t = part("allocation: the naive allocator");
    let s = stack::reset(&base).await?;
    let naive = figures::naive(&s, &[10, 100, 1000], 5, callers).await?;
    done(t);

    Ok(figures::Figures {
        provenance: figures::provenance(&root),
        pipeline,
        lifecycle,
        handlers,
        concurrent,
        allocation,
        naive,
        events,
        packing,
        products,
        zips,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: berth_local::Result<bool> = async {
        match cli.command {
            Cmd::Router { listen, moto, lambdas, lambda_concurrency, aws_rate_limits } => {
                berth_local::router::serve(listen, moto, lambdas.into_iter().collect(), lambda_concurrency, aws_rate_limits).await?;
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
                println!("or onboard and follow: target/debug/berth --stack-dir {} onboard -f events/onboard.json --follow", args.dir.display());
                Ok(true)
            }
            Cmd::Down(args) => {
                let stopped = stack::down(&args.dir)?;
                println!("stopped: {}", if stopped.is_empty() { "nothing was running".to_string() } else { stack::summary(&stopped) });
                Ok(true)
            }
            Cmd::Reset(args) => {
                let s = stack::reset(&args.options()).await?;
                println!("emulator reset; state machine {}", s.state_machine_arn);
                Ok(true)
            }
            Cmd::Run { stack: args, machine, input, name } => {
                let r = follow(&args, &machine, &input, name.as_deref()).await?;
                print_report(&r);
                Ok(r.status == "SUCCEEDED")
            }
            Cmd::Demo { stack: args, input } => {
                let t = Instant::now();
                println!("starting the emulator, the router and the Lambdas...");
                let s = stack::up(&args.options()).await?;
                println!("  up in {:.1} s: endpoint {}", t.elapsed().as_secs_f64(), s.endpoint);
                let r = follow(&args, "berth-onboard", &input, None).await;
                let stopped = stack::down(&args.dir);
                let r = r?;
                print_report(&r);
                println!("stopped: {}", stack::summary(&stopped?));
                println!("demo wall time      {:.1} s", t.elapsed().as_secs_f64());
                Ok(r.status == "SUCCEEDED")
            }
            Cmd::Bench { stack: args, runs, concurrent, concurrent_albs, callers, lambda_dir, out } => {
                let figures = bench(&args, runs, concurrent, concurrent_albs, callers, &lambda_dir).await?;
                let text = figures.markdown();
                println!("{text}");
                if let Some(dir) = out.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&out, &text)?;
                println!("written to {}", out.display());
                Ok(figures.all_met())
            }
            Cmd::PackingBench { albs, arrivals, leave_per_mille, seed } => {
                for form in [berth_local::packing::HostForm::Dashed, berth_local::packing::HostForm::Dotted] {
                    println!("{}", berth_local::packing::packing(albs, arrivals, leave_per_mille, form, seed).await?.markdown());
                }
                Ok(true)
            }
            Cmd::ProductsBench { stack: args, runs } => {
                let s = stack::reset(&args.options()).await?;
                println!("{}", figures::products(&s, &args.root, runs).await?);
                Ok(true)
            }
            Cmd::EventsBench { stack: args, runs } => {
                let s = stack::reset(&args.options()).await?;
                println!("{}", figures::portal_events(&s, &args.root, runs).await?.markdown());
                Ok(true)
            }
            Cmd::LifecycleBench { stack: args, runs } => {
                let s = stack::reset(&args.options()).await?;
                let root = args.root.clone();
                let pipeline = figures::pipeline(&s, &root, runs, "lc").await?;
                let d = pipeline.durations();
                println!("{runs} onboardings: median {} ms", figures::median(&d));
                match pipeline.calls() {
                    Ok(calls) => println!(
                        "each onboarding: {} AWS API calls ({})",
                        calls.values().sum::<u64>(),
                        calls.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
                    ),
                    Err(e) => println!("the onboardings made different calls: {e}"),
                }
                let customers: Vec<String> = (0..runs).map(|i| format!("lc-{i:02}")).collect();
                println!("{}", figures::lifecycle(&s, &root, &customers).await?.markdown());
                Ok(true)
            }
            Cmd::RolloutBench { stack: args, customers, wave_size, max_concurrency } => {
                let root = args.root.clone();
                let mut rows = Vec::new();
                for n in customers {
                    let s = stack::reset(&args.options()).await?;
                    let ids: Vec<String> = (0..n).map(|i| format!("fleet-{i:03}")).collect();
                    for chunk in ids.chunks(20) {
                        let runs = chunk.iter().map(|c| {
                            let (s, root) = (&s, &root);
                            async move {
                                let input = figures::onboarding_input(root, c)?;
                                runner::run(s, &s.state_machine_arn, &input, None, Duration::from_secs(900)).await
                            }
                        });
                        for r in futures_util::future::join_all(runs).await {
                            let r = r?;
                            if r.status != "SUCCEEDED" {
                                return Err(format!("an onboarding ended {}: {:?}", r.status, r.cause).into());
                            }
                        }
                    }
                    for (tag, limited) in [("1.5.0", false), ("1.6.0", true)] {
                        let f = figures::rollout(&s, &ids, tag, wave_size, max_concurrency, limited).await?;
                        eprintln!("{}", f.row());
                        rows.push(f.row());
                    }
                }
                println!("| customers | wave size | max concurrency | AWS rate limits | status | wall time | tally | calls throttled |");
                println!("|---|---|---|---|---|---|---|---|");
                rows.iter().for_each(|r| println!("{r}"));
                Ok(true)
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

fn host_form(s: &str) -> Result<berth_domain::naming::HostForm, String> {
    berth_domain::naming::HostForm::parse(s).ok_or_else(|| format!("'{s}': dashed or dotted"))
}
