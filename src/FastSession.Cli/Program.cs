using System;
using System.Threading.Tasks;

namespace FastSession.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => FastSessionTool.RunAsync(args, Console.Out, Console.Error);
}
