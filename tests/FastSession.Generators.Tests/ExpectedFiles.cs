using System;
using System.IO;
using System.Text;

namespace FastSession.Generators.Tests
{
    /// <summary>
    /// The expected-file comparer (Verify is not available here). Expected files live under
    /// Expected/ in the source tree and are copied next to the test assembly. With
    /// FASTSESSION_UPDATE_EXPECTED=1 a mismatch rewrites the file in the source tree instead of failing.
    /// </summary>
    internal static class ExpectedFiles
    {
        public const string UpdateVariable = "FASTSESSION_UPDATE_EXPECTED";

        public static bool Updating => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

        public static string SourceTreeDirectory => Path.Combine(GeneratorHarness.SourceDirectory, "Expected");

        public static string OutputDirectory => Path.Combine(AppContext.BaseDirectory, "Expected");

        public static void AssertMatches(string fileName, string actual)
        {
            actual = Normalize(actual);
            if (Updating)
            {
                Directory.CreateDirectory(SourceTreeDirectory);
                File.WriteAllText(Path.Combine(SourceTreeDirectory, fileName), actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                return;
            }

            string path = Path.Combine(OutputDirectory, fileName);
            Assert.True(File.Exists(path), $"No expected file {fileName}; run with {UpdateVariable}=1 to create it (see README.md).");
            string expected = Normalize(File.ReadAllText(path));
            if (expected != actual)
            {
                Assert.Fail($"{fileName} differs from Expected/{fileName}:\n{FirstDifference(expected, actual)}\n" +
                            $"If the change is intended, regenerate with {UpdateVariable}=1 (see README.md).");
            }
        }

        private static string Normalize(string text) => text.Replace("\r\n", "\n");

        private static string FirstDifference(string expected, string actual)
        {
            string[] e = expected.Split('\n');
            string[] a = actual.Split('\n');
            for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
            {
                string el = i < e.Length ? e[i] : "<end of file>";
                string al = i < a.Length ? a[i] : "<end of file>";
                if (el != al)
                {
                    return $"line {i + 1}:\n  expected: {el}\n  actual:   {al}";
                }
            }

            return "(only line endings differ)";
        }
    }
}
