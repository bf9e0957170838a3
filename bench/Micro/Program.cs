using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/Micro -- --filter '*' --job short` (any BenchmarkDotNet switches work).
BenchmarkSwitcher.FromAssembly(typeof(Porter.Bench.Micro.Samples).Assembly).Run(args);
