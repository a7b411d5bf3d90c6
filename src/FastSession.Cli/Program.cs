using System;
using System.Threading.Tasks;

namespace FastSession.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => Cli.RunAsync(args, Console.Out, Console.Error);
}
