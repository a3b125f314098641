import { Component, type ReactNode } from 'react';

/** A fault in the page itself is shown in words with a way on, never as a blank screen. */
export class Boundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <main>
        <h1>Something went wrong on this page</h1>
        <div className="error" role="alert">
          <p>{this.state.error.message}</p>
        </div>
        <p>
          <a href="/ui/">Back to the agents</a> (your key stays in this tab).
        </p>
      </main>
    );
  }
}
