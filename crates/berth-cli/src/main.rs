//! `berth`: the operators' command line. It acts on a deployment on AWS (the usual AWS
//! configuration: profile, region, `AWS_ENDPOINT_URL`; the deployment's variables from the
//! environment) or on the local stack (`--local`, `--stack-dir`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth_adapters::aws::{Aws, DynamoRegistry};
use berth_adapters::ports::{Pool, Ports};
use berth_cli::error::{code, EXIT_CODES};
use berth_cli::follow::{FollowOptions, Followed};
use berth_cli::start::Flags;
use berth_cli::target::Target;
use berth_cli::{customers, follow, pool_add, pool_table, start, CliError, Quotas};
use berth_domain::lifecycle::Operation;
use berth_domain::pool::AlbState;
use berth_domain::state::CustomerState;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Operate berth: its customers, their executions, the pool of shared ALBs",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Act on the local stack `make local-up` started (.local/stack.json).
    #[arg(long, global = true)]
    local: bool,
    /// Act on the local stack whose stack.json is in DIR.
    #[arg(long, global = true, value_name = "DIR")]
    stack_dir: Option<PathBuf>,
    /// The registry table (default: BERTH_TABLE, or the local stack's).
    #[arg(long, global = true)]
    table: Option<String>,
    /// Print JSON instead of tables and lines.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The customers in the registry.
    #[command(subcommand)]
    Customers(CustomersCmd),
    /// Onboard a customer from its spec (--file, as events/onboard.json).
    Onboard(SpecArgs),
    /// Change a customer to a new desired spec (--file, its whole spec, as events/update.json).
    Update(SpecArgs),
    /// Scale a customer's services to 0 and keep everything else.
    Suspend(SuspendArgs),
    /// Scale a suspended customer's services back.
    Resume(LifecycleArgs),
    /// Remove everything of a customer; its record stays as DELETED with its history.
    Offboard(OffboardArgs),
    /// Follow an execution (its ARN, or a customer's id for its latest) step by step to its
    /// end: exit 0 when it succeeded, 1 when not.
    Follow {
        /// An execution ARN, or a customer id.
        target: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// The pool of shared ALBs.
    #[command(subcommand)]
    Pool(PoolCmd),
    /// Compare every pool listener with the ledger: rules berth does not own, ledger
    /// entries with no rule, and each ALB's used and free capacity.
    Audit,
}

#[derive(Subcommand)]
enum CustomersCmd {
    /// Every customer with its state, host, ALB, priorities and execution.
    List {
        /// Only the customers in this state (ACTIVE, SUSPENDED, FAILED, ...).
        #[arg(long)]
        state: Option<String>,
    },
    /// A customer: its state, URL, ALB and priorities, resources, executions, history and
    /// last error.
    Show { id: String },
}

#[derive(Args, Clone, Copy)]
struct Wait {
    /// Give up waiting after this many seconds (exit 7; the execution goes on).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

#[derive(Args)]
struct Common {
    /// The idempotency key: the same key finds the execution it started instead of starting
    /// another (default: cli-<milliseconds>).
    #[arg(long)]
    key: Option<String>,
    /// Follow the execution to its end, as `berth follow` does.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    wait: Wait,
}

#[derive(Args)]
struct SpecArgs {
    /// The request: JSON as in events/ (or an EventBridge request event); - reads stdin.
    #[arg(long, short)]
    file: Option<PathBuf>,
    /// The customer, over the file's customer_id.
    #[arg(long)]
    customer: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct LifecycleArgs {
    /// The customer.
    id: Option<String>,
    /// The request as JSON (events/suspend.json, ...); flags go over it; - reads stdin.
    #[arg(long, short)]
    file: Option<PathBuf>,
    /// Free text kept in the history.
    #[arg(long)]
    note: Option<String>,
    /// Who asks, kept in the history.
    #[arg(long)]
    requested_by: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct SuspendArgs {
    #[command(flatten)]
    lifecycle: LifecycleArgs,
    /// Why, kept on the record and in the history.
    #[arg(long, value_parser = ["unpaid", "idle", "on_request"])]
    reason: Option<String>,
}

#[derive(Args)]
struct OffboardArgs {
    #[command(flatten)]
    lifecycle: LifecycleArgs,
    /// Keep the customer's log groups (with their retention).
    #[arg(long)]
    keep_log_groups: bool,
}

#[derive(Subcommand)]
enum PoolCmd {
    /// Every ALB with its state, customers and capacity.
    List,
    /// Add the ALB behind an HTTPS listener to the pool.
    Add {
        #[arg(long)]
        listener_arn: String,
        /// Defaults to the load balancer's name.
        #[arg(long)]
        name: Option<String>,
        /// Listener rules the ALB may hold (AWS's quota, adjustable; default 100).
        #[arg(long, default_value_t = berth_domain::pool::DEFAULT_RULE_QUOTA)]
        rule_quota: u32,
        /// Target groups the ALB may serve (AWS's limit: 100).
        #[arg(long, default_value_t = berth_domain::pool::DEFAULT_TARGET_GROUP_QUOTA)]
        target_group_quota: u32,
        /// Certificates on the listener (AWS's quota, adjustable; default 25).
        #[arg(long, default_value_t = berth_domain::pool::DEFAULT_CERTIFICATE_QUOTA)]
        certificate_quota: u32,
    },
    /// Take no new customers on this ALB (its customers stay).
    Drain { name: String },
    /// Take new customers on this ALB again.
    Activate { name: String },
}

/// A request to start: the operation, the file, the flags, and how to wait.
struct Start {
    op: Option<Operation>,
    file: Option<PathBuf>,
    flags: Flags,
    follow: bool,
    wait: Wait,
}

impl Start {
    fn spec(op: Option<Operation>, a: SpecArgs) -> Start {
        let flags = Flags { customer_id: a.customer, idempotency_key: a.common.key, ..Flags::default() };
        Start { op, file: a.file, flags, follow: a.common.follow, wait: a.common.wait }
    }

    fn lifecycle(op: Operation, a: LifecycleArgs, reason: Option<String>, keep_log_groups: bool) -> Start {
        let flags =
            Flags { customer_id: a.id, idempotency_key: a.common.key, reason, note: a.note, requested_by: a.requested_by, keep_log_groups };
        Start { op: Some(op), file: a.file, flags, follow: a.common.follow, wait: a.common.wait }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::from(code::OK),
        Err(e) => {
            eprintln!("berth: {}", e.text());
            ExitCode::from(e.exit_code())
        }
    }
}

async fn target(cli: &Cli) -> Result<Target, CliError> {
    let dir = cli.stack_dir.clone().or_else(|| cli.local.then(|| PathBuf::from(".local")));
    match dir {
        Some(dir) => Target::local(&dir, cli.table.clone()).await,
        None => Ok(Target::aws(cli.table.clone()).await),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Config(format!("not printable as JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let target = target(&cli).await?;
    let json = cli.json;
    let registry = || target.table().map(|t| DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&target.sdk), t));
    match cli.command {
        Cmd::Customers(CustomersCmd::List { state }) => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(CustomerState::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
                    let all: Vec<&str> = CustomerState::ALL.iter().map(|s| s.as_str()).collect();
                    CliError::Config(format!("--state must be one of {}", all.join(", ")))
                })?),
            };
            let found = customers::list(&registry()?, state).await?;
            if json {
                print_json(&found.iter().map(customers::Listed::from).collect::<Vec<_>>())
            } else {
                print!("{}", customers::list_table(&found));
                Ok(())
            }
        }
        Cmd::Customers(CustomersCmd::Show { id }) => {
            let aws = Aws::new(&target.sdk, Some(&target.table()?));
            let shown = customers::show(aws.customers(), aws.executions(), &id).await?;
            if json {
                print_json(&shown)
            } else {
                print!("{}", customers::show_text(&shown));
                Ok(())
            }
        }
        Cmd::Onboard(a) => start_request(&target, Start::spec(None, a), json).await,
        Cmd::Update(a) => start_request(&target, Start::spec(Some(Operation::Update), a), json).await,
        Cmd::Suspend(a) => start_request(&target, Start::lifecycle(Operation::Suspend, a.lifecycle, a.reason, false), json).await,
        Cmd::Resume(a) => start_request(&target, Start::lifecycle(Operation::Resume, a, None, false), json).await,
        Cmd::Offboard(a) => start_request(&target, Start::lifecycle(Operation::Offboard, a.lifecycle, None, a.keep_log_groups), json).await,
        Cmd::Follow { target: what, wait } => {
            let arn = if what.starts_with("arn:") {
                what
            } else {
                // The customer's newest running execution (one just started has not reached
                // the record yet), else the one its record names.
                use berth_adapters::ports::Customers;
                let sfn = aws_sdk_sfn::Client::new(&target.sdk);
                match follow::latest_running(&sfn, &target.machines(), &what).await? {
                    Some(arn) => arn,
                    None => registry()?.get(&what).await?.map(|c| c.execution_id).filter(|e| !e.is_empty()).ok_or_else(|| {
                        CliError::Berth(berth_domain::BerthError::NotFound(format!(
                            "no customer '{}' and no execution of it running (give an execution ARN or a customer id)",
                            berth_domain::naming::truncate(&what, 80)
                        )))
                    })?,
                }
            };
            follow_execution(&target, &arn, wait, json).await
        }
        Cmd::Pool(PoolCmd::List) => {
            let albs = registry()?.albs().await?;
            if json {
                print_json(&albs)
            } else {
                print!("{}", pool_table(&albs));
                Ok(())
            }
        }
        Cmd::Pool(PoolCmd::Add { listener_arn, name, rule_quota, target_group_quota, certificate_quota }) => {
            let elb = aws_sdk_elasticloadbalancingv2::Client::new(&target.sdk);
            let quotas = Quotas { rules: rule_quota, target_groups: target_group_quota, certificates: certificate_quota };
            let a = pool_add(&registry()?, &elb, &listener_arn, name.as_deref(), quotas).await?;
            if json {
                print_json(&a)
            } else {
                println!("added {} ({})", a.name, a.dns_name);
                Ok(())
            }
        }
        Cmd::Pool(PoolCmd::Drain { name }) => set_state(&registry()?, &name, AlbState::Draining, json).await,
        Cmd::Pool(PoolCmd::Activate { name }) => set_state(&registry()?, &name, AlbState::Active, json).await,
        Cmd::Audit => {
            let elb = berth_adapters::aws::ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&target.sdk));
            let report = berth_cli::audit(&registry()?, &elb).await?;
            if json {
                print_json(&report)
            } else {
                print!("{}", berth_cli::audit_text(&report));
                Ok(())
            }
        }
    }
}

async fn set_state(registry: &DynamoRegistry, name: &str, state: AlbState, json: bool) -> Result<(), CliError> {
    let a = registry.set_state(name, state).await?;
    if json {
        print_json(&a)
    } else {
        println!("{} is {}", a.name, a.state.as_str());
        Ok(())
    }
}

async fn start_request(target: &Target, s: Start, json: bool) -> Result<(), CliError> {
    let config = target.intake()?;
    let file = match &s.file {
        Some(path) => Some(start::read_file(path, s.op, &config.sbt_control_plane_source)?),
        None => None,
    };
    let request = start::request(s.op, file, &s.flags)?;
    let aws = Aws::new(&target.sdk, Some(&config.table));
    let cx = berth_steps::Context::new(config, aws);
    let out = berth_steps::intake::start(&cx, s.op, request).await?;
    if json && !s.follow {
        return print_json(&serde_json::json!({
            "operation": start::operation_name(s.op),
            "customer_id": out.customer_id,
            "execution_arn": out.execution_arn,
            "execution_name": out.execution_name,
            "started": out.started,
            "status": out.status,
        }));
    }
    if !json {
        println!("{}", start::started_text(s.op, &out));
    }
    if s.follow {
        return follow_execution(target, &out.execution_arn, s.wait, json).await;
    }
    Ok(())
}

async fn follow_execution(target: &Target, arn: &str, wait: Wait, json: bool) -> Result<(), CliError> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let sfn = aws_sdk_sfn::Client::new(&target.sdk);
    let bar = ProgressBar::with_draw_target(None, if json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() });
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    if !json {
        println!("following {arn}");
    }
    let options = FollowOptions { timeout: wait.timeout.map(Duration::from_secs), poll: Duration::from_millis(500) };
    let result = follow::follow(
        &sfn,
        arn,
        options,
        |line| {
            if !json {
                bar.suspend(|| println!("{}", line.text()));
            }
        },
        |tracker| {
            bar.set_length(tracker.total() as u64);
            bar.set_position(tracker.position() as u64);
            bar.set_message(tracker.current().unwrap_or_default().to_string());
        },
    )
    .await;
    bar.finish_and_clear();
    let followed: Followed = result?;
    if json {
        print_json(&followed)?;
    } else {
        println!("{}", followed.text());
    }
    if followed.succeeded() {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{} {}", followed.status, followed.error.as_deref().unwrap_or_default())))
    }
}
