using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace FastSession.Cli;

/// <summary>Counts of <see cref="SslResumptionOutcome"/> for the tool's summaries (<c>connect</c>, <c>serve</c>).</summary>
internal sealed class ResumptionReasons
{
    private readonly object _lock = new();
    private readonly SortedDictionary<string, long> _counts = new(System.StringComparer.Ordinal);
    private long _total;
    private long _resumed;

    public void Add(SslResumptionOutcome outcome)
    {
        lock (_lock)
        {
            _total++;
            if (outcome == SslResumptionOutcome.Resumed)
            {
                _resumed++;
                return;
            }
            string name = outcome.ToTagValue();
            _counts[name] = _counts.GetValueOrDefault(name) + 1;
        }
    }

    /// <summary><c>"not_resumed_reason"</c>: null when resumed, else the outcome's tag name.</summary>
    public static void WriteReason(Utf8JsonWriter json, SslResumptionOutcome outcome)
    {
        if (outcome == SslResumptionOutcome.Resumed)
        {
            json.WriteNull("not_resumed_reason");
        }
        else
        {
            json.WriteString("not_resumed_reason", outcome.ToTagValue());
        }
    }

    /// <summary><c>"not_resumed_reasons": { "cache_miss": 1, ... }</c> (empty object when every connection resumed).</summary>
    public void WriteJson(Utf8JsonWriter json)
    {
        lock (_lock)
        {
            json.WriteStartObject("not_resumed_reasons");
            foreach (KeyValuePair<string, long> pair in _counts)
            {
                json.WriteNumber(pair.Key, pair.Value);
            }
            json.WriteEndObject();
        }
    }

    /// <summary>One line: "12 handshakes, 10 resumed (83.3%); not resumed: not_offered 1, ticket_not_decrypted 1".</summary>
    public string Describe()
    {
        lock (_lock)
        {
            string rate = _total == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({100.0 * _resumed / _total:0.0}%)");
            string reasons = _counts.Count == 0 ? "" : "; not resumed: " + string.Join(", ", _counts.Select(p => $"{p.Key} {p.Value}"));
            return $"{_total} handshake{(_total == 1 ? "" : "s")}, {_resumed} resumed{rate}{reasons}";
        }
    }
}
