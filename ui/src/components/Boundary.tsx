import { Component, type ReactNode } from 'react';
import { ScreenTitle } from './ScreenTitle';

/**
 * A fault in the page itself (a screen that throws while it renders, e.g. on an answer of a shape
 * it does not expect) is shown in words with a way on, never as a blank screen. App puts one
 * around each screen (a fresh one at each address); main.tsx one around the whole app.
 */
export class Boundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <main>
        <ScreenTitle>Something went wrong on this page</ScreenTitle>
        <div className="error" role="alert">
          <p>This screen stopped while showing what the server answered: {this.state.error.message}</p>
        </div>
        <p>
          <a href="/ui/">Back to the agents</a> (your key stays in this tab).
        </p>
      </main>
    );
  }
}
