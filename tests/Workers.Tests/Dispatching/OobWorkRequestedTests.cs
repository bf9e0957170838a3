using Porter.Workers.Dispatching;

namespace Porter.Workers.Tests.Dispatching;

public sealed class OobWorkRequestedTests
{
    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData(" True ", true)]
    [InlineData("false", false)]
    [InlineData("", false)]
    [InlineData("1", false)]
    [InlineData("yes", false)]
    [InlineData("truely", false)]
    public void Only_true_asks_for_out_of_band_work(string value, bool asks) =>
        Assert.Equal(asks, OobWorkRequested.IsAsking(value));
}
