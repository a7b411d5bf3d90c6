using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace FastSession.Generators.Helpers
{
    /// <summary>
    /// A member template: the lines between <c>// &lt;members&gt;</c> and <c>// &lt;/members&gt;</c> of an embedded
    /// <c>Templates/*.cs</c> file, with <c>// &lt;if NAME&gt;</c> ... <c>// &lt;/if&gt;</c> sections. The files are
    /// real C# (CsWin32's approach), so the fixed shapes read, diff and review as code, not as strings.
    /// </summary>
    internal sealed class Template
    {
        private const string Begin = "// <members>";
        private const string End = "// </members>";
        private const string IfPrefix = "// <if ";
        private const string EndIf = "// </if>";

        private static readonly Dictionary<string, Template> s_cache = new(StringComparer.Ordinal);

        private readonly string[] _lines;

        private Template(string[] lines) => _lines = lines;

        /// <summary>The parsed template <paramref name="fileName"/> (embedded resource), read once per generator load.</summary>
        public static Template Get(string fileName)
        {
            lock (s_cache)
            {
                if (!s_cache.TryGetValue(fileName, out Template? template))
                {
                    template = Parse(ReadResource(fileName));
                    s_cache.Add(fileName, template);
                }

                return template;
            }
        }

        /// <summary>The embedded template file's text, verbatim.</summary>
        public static string ReadResource(string fileName)
        {
            string resource = "FastSession.Generators.Templates." + fileName;
            using Stream stream = typeof(Template).GetTypeInfo().Assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException("Missing embedded template " + resource);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }

        /// <summary>Writes the members: kept sections only, placeholders replaced in the order given (longest first when one contains another).</summary>
        public void WriteTo(SourceWriter writer, IReadOnlyList<KeyValuePair<string, string>> replacements, ISet<string> conditions)
        {
            bool keep = true;
            foreach (string raw in _lines)
            {
                string trimmed = raw.Trim();
                if (trimmed.StartsWith(IfPrefix, StringComparison.Ordinal))
                {
                    keep = conditions.Contains(trimmed.Substring(IfPrefix.Length, trimmed.Length - IfPrefix.Length - 1));
                    continue;
                }

                if (trimmed == EndIf)
                {
                    keep = true;
                    continue;
                }

                if (!keep)
                {
                    continue;
                }

                string line = raw;
                foreach (KeyValuePair<string, string> replacement in replacements)
                {
                    line = line.Replace(replacement.Key, replacement.Value);
                }

                writer.WriteLine(line);
            }
        }

        private static Template Parse(string text)
        {
            string[] all = text.Replace("\r\n", "\n").Split('\n');
            int begin = -1;
            int end = -1;
            for (int i = 0; i < all.Length; i++)
            {
                string trimmed = all[i].Trim();
                if (trimmed == Begin)
                {
                    begin = i;
                }
                else if (trimmed == End)
                {
                    end = i;
                }
            }

            if (begin < 0 || end < begin)
            {
                throw new InvalidOperationException("A member template needs '" + Begin + "' and '" + End + "' lines.");
            }

            // Dedent by the marker's own indentation: members sit at the level of the generated type's body.
            int indent = all[begin].Length - all[begin].TrimStart().Length;
            var lines = new string[end - begin - 1];
            for (int i = 0; i < lines.Length; i++)
            {
                string line = all[begin + 1 + i];
                lines[i] = line.Length >= indent && line.Substring(0, indent).Trim().Length == 0
                    ? line.Substring(indent)
                    : line.TrimStart();
            }

            return new Template(lines);
        }
    }
}
