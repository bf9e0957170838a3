using Akka.Actor;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Logging.Abstractions;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Workers.Pool;
using Porter.Workers.Spawning;

namespace Porter.Workers.Tests.Pool;

/// <summary>Supervisor decisions with stand-in process actors: no OS processes involved.</summary>
public sealed class AppSupervisorTests : TestKit
{
    private static readonly RestartBackoff.Settings FastBackoff =
        new(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(40), TimeSpan.FromMinutes(1), 5, TimeSpan.FromSeconds(60));

    private static readonly SpawnPlan Plan = new(AppType.Command, "/bin/true", [], "/", new Dictionary<string, string>());

    /// <summary>A process actor that reports what the script says: ready, or a failure.</summary>
    private sealed class ScriptedProcess : ReceiveActor
    {
        public ScriptedProcess(int pid, bool ready, IActorRef spawns)
        {
            spawns.Tell(pid);
            if (ready)
                Context.Parent.Tell(new AppProcess.Ready(new ProcessEndpoint(new ProcessId(pid), 20000 + pid, 0), null!));
            else
                Context.Parent.Tell(new AppProcess.Failed(new ProcessId(pid), "exited with code 1", ["stderr line"]));
            ReceiveAny(_ => { });
        }
    }

    private (AppPool pool, Akka.TestKit.TestProbe spawns) StartSupervisor(Func<int, bool> readyOnSpawn, int minInstances = 1)
    {
        var pool = new AppPool(new AppName("app"), new AppPool.Limits(100, TimeSpan.Zero, TimeSpan.FromSeconds(5)));
        var spawns = CreateTestProbe();
        var count = 0;
        var app = new AppOptions { Name = "app", Root = "/", MinInstances = minInstances };
        Sys.ActorOf(AppSupervisor.Props(app, pool, () => Plan, _ =>
        {
            var n = Interlocked.Increment(ref count);
            return Props.Create(() => new ScriptedProcess(n, readyOnSpawn(n), spawns.Ref));
        }, NullLogger.Instance, FastBackoff));
        return (pool, spawns);
    }

    [Fact]
    public void Keeps_min_instances_running()
    {
        var (pool, spawns) = StartSupervisor(_ => true, minInstances: 3);
        spawns.ExpectMsgAllOf(new object[] { 1, 2, 3 });
        AwaitCondition(() => pool.Routable.Count == 3);
        spawns.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Crashed_process_is_replaced_until_one_is_ready()
    {
        var (pool, spawns) = StartSupervisor(n => n >= 3);
        spawns.ExpectMsg(1);
        spawns.ExpectMsg(2);
        spawns.ExpectMsg(3);
        AwaitCondition(() => pool.Routable.Count == 1);
        Assert.Equal(3, pool.Routable[0].Pid.Value);
        Assert.Null(pool.CurrentFailure);
    }

    [Fact]
    public void Crash_loop_marks_the_app_failing_and_keeps_retrying()
    {
        var (pool, spawns) = StartSupervisor(n => n >= 8);
        for (var i = 1; i <= 5; i++) spawns.ExpectMsg(i);
        AwaitCondition(() => pool.CurrentFailure is not null);
        Assert.Contains("exited with code 1", pool.CurrentFailure!.Reason);
        Assert.Equal(["stderr line"], pool.CurrentFailure.StderrTail);
        // Retries go on at the backoff ceiling; once a process is ready the failure clears.
        spawns.ExpectMsg(6);
        spawns.ExpectMsg(7);
        spawns.ExpectMsg(8);
        AwaitCondition(() => pool.CurrentFailure is null && pool.Routable.Count == 1);
    }
}
