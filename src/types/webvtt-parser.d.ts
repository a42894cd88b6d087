// webvtt-parser (the WHATWG WebVTT parsing algorithm, by Anne van Kesteren) ships no types; only what hearth uses.
declare module 'webvtt-parser' {
  export interface WebVttNode {
    type: 'text' | 'object';
    name?: string;
    value?: string;
    children?: WebVttNode[];
  }
  export interface WebVttCue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
    tree: { children: WebVttNode[] };
  }
  export interface WebVttError {
    message: string;
    line: number;
    col?: number;
  }
  export class WebVTTParser {
    parse(input: string, mode?: 'metadata' | 'chapters'): { cues: WebVttCue[]; errors: WebVttError[] };
  }
  // CommonJS, with its exports assigned at run time: only the default import sees them.
  const webvtt: { WebVTTParser: typeof WebVTTParser };
  export default webvtt;
}
