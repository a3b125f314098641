/** A value from 0 to 1 as a bar with its figure; a native <meter>, named for screen readers. */
export function Bar({ label, value }: { label: string; value: number }) {
  const clamped = Math.max(0, Math.min(1, value));
  return (
    <div className="bar">
      <span className="bar-label">{label}</span>
      <meter min={0} max={1} value={clamped} aria-label={`${label}: ${value.toFixed(3)}`} />
      <span className="bar-value">{value.toFixed(3)}</span>
    </div>
  );
}

/** How full a block is: its characters (code points, as the server counts) against its limit. */
export function Gauge({ length, limit, label }: { length: number; limit: number; label: string }) {
  return (
    <div className="gauge">
      <meter
        min={0}
        max={limit}
        value={length}
        high={limit * 0.9}
        aria-label={`${label}: ${length} of ${limit} characters`}
      />
      <span>
        {length} / {limit} characters
      </span>
    </div>
  );
}
