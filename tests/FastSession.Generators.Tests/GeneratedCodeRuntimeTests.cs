using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Emit;

namespace FastSession.Generators.Tests
{
    /// <summary>
    /// The generated wrappers, views and owned handles run for real, against glibc instead of the
    /// shim: strchr is a get0 (a pointer into memory its owner holds), strdup a get1 (freed once
    /// with free, which aborts the process on a double free), strlen a getter on both.
    /// </summary>
    public sealed class GeneratedCodeRuntimeTests
    {
        private const string Source = """
            using System;
            using System.Runtime.InteropServices;
            using FastSession.Interop;

            [assembly: System.Runtime.CompilerServices.DisableRuntimeMarshalling]

            namespace LibcSample
            {
                [ShimHandleOwner]
                public sealed class NativeText : IDisposable
                {
                    private nint _text;
                    private ulong _epoch;

                    public NativeText(string text) => _text = Marshal.StringToHGlobalAnsi(text);

                    internal nint NativeHandle => _text != 0 ? _text : throw new ObjectDisposedException(nameof(NativeText));

                    internal ulong Epoch => _epoch;

                    // The reader lease every view access takes; Replace and Dispose refuse to run under one.
                    private int _readers;

                    internal int Readers => _readers;

                    internal int EnterReader()
                    {
                        _readers++;
                        return 1;
                    }

                    internal void ExitReader(int lease)
                    {
                        if (lease != 0)
                        {
                            _readers--;
                        }
                    }

                    public void Replace(string text)
                    {
                        if (_readers != 0) throw new InvalidOperationException("a reader lease is held");
                        Marshal.FreeHGlobal(_text);
                        _text = Marshal.StringToHGlobalAnsi(text);
                        _epoch++;
                    }

                    public void Dispose()
                    {
                        if (_readers != 0) throw new InvalidOperationException("a reader lease is held");
                        Marshal.FreeHGlobal(_text);
                        _text = 0;
                        _epoch++;
                    }
                }

                [BorrowedView(typeof(NativeText), "libc.so.6")]
                public readonly ref partial struct CharRef
                {
                }

                [OwnedHandle("libc.so.6", "free")]
                public readonly partial struct CopiedText
                {
                }

                [ShimLibrary("libc.so.6")]
                internal static partial class Libc
                {
                    [ShimImport("strchr", Trivial = true)]
                    internal static partial CharRef Find(NativeText text, int character);

                    [ShimImport("strdup")]
                    internal static partial CopiedText Copy(NativeText text);

                    [ShimImport("strlen", Trivial = true)]
                    internal static partial nuint Length(CharRef at);

                    [ShimImport("strlen", Trivial = true)]
                    internal static partial nuint Length(CopiedText text);
                }

                public static class Scenarios
                {
                    public static string BorrowedView()
                    {
                        using var text = new NativeText("hello");
                        CharRef at = Libc.Find(text, 'l');
                        string result = $"{Libc.Length(at)} {at.IsValid} {at.ToString().EndsWith(", valid)")}";
                        text.Replace("world");
                        result += $" {at.IsValid} {at.ToString().EndsWith(", stale)")}";
                        try
                        {
                            Libc.Length(at);
                            result += " no-throw";
                        }
                        catch (InvalidOperationException e) when (e.Message.Contains("stale"))
                        {
                            result += " stale-throws";
                        }

                        CharRef none = Libc.Find(text, 'z');
                        result += $" {none.IsEmpty} {none.ToString()}";
                        try
                        {
                            Libc.Length(none);
                        }
                        catch (InvalidOperationException e) when (e.Message.Contains("empty"))
                        {
                            result += " empty-throws";
                        }

                        // Every lease taken above (get0, the accessor, the stale check) was released.
                        return result + $" leases={text.Readers}";
                    }

                    public static string OwnedHandle()
                    {
                        using var text = new NativeText("hello");
                        CopiedText copy = Libc.Copy(text);
                        CopiedText alias = copy;
                        string result = $"{Libc.Length(copy)} {copy.IsNone} {copy.IsDisposed} {copy == alias} {copy.ToString().StartsWith("CopiedText(0x")}";
                        text.Dispose(); // the copy does not depend on its source
                        result += $" {Libc.Length(alias)}";
                        alias.Dispose();
                        copy.Dispose(); // a double free would abort the process
                        result += $" {copy.IsDisposed} {copy}";
                        try
                        {
                            Libc.Length(copy);
                        }
                        catch (ObjectDisposedException)
                        {
                            result += " disposed-throws";
                        }

                        try
                        {
                            Libc.Length(default(CopiedText));
                        }
                        catch (ObjectDisposedException)
                        {
                            result += " none-throws";
                        }

                        return result + $" {default(CopiedText)}";
                    }

                    public static long AllocatedBytesPerCopyAndView()
                    {
                        using var text = new NativeText("hello");
                        for (int i = 0; i < 100; i++)
                        {
                            Round(text);
                        }

                        long before = GC.GetAllocatedBytesForCurrentThread();
                        for (int i = 0; i < 10_000; i++)
                        {
                            Round(text);
                        }

                        return GC.GetAllocatedBytesForCurrentThread() - before;

                        static void Round(NativeText text)
                        {
                            using CopiedText copy = Libc.Copy(text);
                            if (Libc.Length(copy) != 5 || Libc.Length(Libc.Find(text, 'o')) != 1)
                            {
                                throw new InvalidOperationException();
                            }
                        }
                    }
                }
            }
            """;

        [Fact]
        public void BorrowedView_ChecksTheOwnersEpochInsideAReaderLeaseBeforeEveryUse()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            Assert.Equal("3 True True False True stale-throws True CharRef(0x0, empty) empty-throws leases=0", Invoke("BorrowedView"));
        }

        [Fact]
        public void OwnedHandle_IsFreedOnceAcrossCopies_AndThrowsAfterDispose()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            Assert.Equal(
                "5 False False True True 5 True CopiedText(disposed) disposed-throws none-throws CopiedText(none)",
                Invoke("OwnedHandle"));
        }

        [Fact]
        public void GetAndDispose_AllocatesNothingInSteadyState()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            Assert.Equal(0L, Invoke("AllocatedBytesPerCopyAndView"));
        }

        private static object? Invoke(string scenario)
        {
            Assembly assembly = s_assembly.Value;
            return assembly.GetType("LibcSample.Scenarios")!.GetMethod(scenario)!.Invoke(null, null);
        }

        private static readonly Lazy<Assembly> s_assembly = new(static () =>
        {
            GeneratorResult result = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Source));
            Assert.Empty(result.RunResult.Diagnostics);
            using var stream = new MemoryStream();
            EmitResult emit = result.Output.Emit(stream);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Select(static d => d.ToString())));
            // The sample itself is undocumented (CS1591); the generated files must be clean.
            Assert.DoesNotContain(
                result.Output.GetDiagnostics(),
                static d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree?.FilePath != "Input0.cs");
            stream.Position = 0;
            return new AssemblyLoadContext("LibcSample").LoadFromStream(stream);
        });
    }
}
