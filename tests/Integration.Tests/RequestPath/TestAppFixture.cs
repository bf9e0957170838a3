using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>One porter node serving tests/apps/testapp, shared by a test class.</summary>
public sealed class TestAppFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Porter = await PorterProcess.StartAsync([Repo.TestApp, "--disable-turbocaching"], waitForApp: true);

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}
