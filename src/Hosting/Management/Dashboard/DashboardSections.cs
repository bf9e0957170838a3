using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Porter.Hosting.Management.Dashboard;

/// <summary>
/// Parts of the dashboard that roles above the hosting layer add (the OOB coordinator's state): each a name and a reader
/// of its JSON. A reader that fails shows as <c>{"error": ...}</c> under its name, the rest of the dashboard unaffected.
/// </summary>
public sealed class DashboardSections
{
    private readonly ConcurrentDictionary<string, Func<CancellationToken, Task<JsonNode?>>> _readers = new(StringComparer.Ordinal);

    public void Register(string name, Func<CancellationToken, Task<JsonNode?>> read) => _readers[name] = read;

    public async Task<IReadOnlyList<(string Name, JsonNode? Section)>> ReadAllAsync(CancellationToken ct)
    {
        var reads = _readers.OrderBy(r => r.Key, StringComparer.Ordinal).Select(async r =>
        {
            try
            {
                return (r.Key, await r.Value(ct));
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return (r.Key, (JsonNode?)new JsonObject { ["error"] = e.Message });
            }
        });
        return await Task.WhenAll(reads);
    }
}
