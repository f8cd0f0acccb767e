// The Mantine theme, and the colours of status badges in each colour scheme. Mantine's
// own `light` badge (shade 6 text in light, shade 3 in dark) misses WCAG AA for small
// text in most hues — 2.1:1 for teal on white, 1.9:1 for `dark` (CANCELLED) on the dark
// background — so badges take their text colour from BADGE_TEXT instead: palette shades
// where one passes, a darkened shade 9 where none does (light: blue, orange, teal, red,
// yellow). lib/status.test.tsx computes every status badge's contrast from these values
// against BADGE_SURFACES and asserts 4.5:1.
import { Badge, createTheme, DEFAULT_THEME, type CSSVariablesResolver } from '@mantine/core';


const C = DEFAULT_THEME.colors;
export type Scheme = 'light' | 'dark';

/** The badge hues lib/status.ts uses. */
export type BadgeHue = 'gray' | 'blue' | 'orange' | 'teal' | 'red' | 'dark' | 'yellow' | 'grape' | 'green' | 'cyan' | 'violet';

export const BADGE_TEXT: Record<Scheme, Record<BadgeHue, string>> = {
  light: {
    gray: C.gray[7],
    dark: C.dark[6],
    grape: C.grape[9],
    violet: C.violet[9],
    blue: '#175ea1',
    orange: '#a1350b',
    teal: '#07684b',
    green: '#1f6b2c',
    cyan: '#0a5f6e',
    red: '#ad2424',
    yellow: '#8f4a00',
  },
  dark: {
    gray: C.gray[3],
    dark: C.dark[0],
    grape: C.grape[2],
    violet: C.violet[2],
    blue: C.blue[2],
    orange: C.orange[3],
    teal: C.teal[3],
    green: C.green[3],
    cyan: C.cyan[3],
    red: C.red[2],
    yellow: C.yellow[3],
  },
};

/** The badge's tint: Mantine's `light` background (shade 6 at 10% / 15%). */
export const BADGE_BG_ALPHA: Record<Scheme, number> = { light: 0.1, dark: 0.15 };
export const badgeTint = (hue: BadgeHue) => (hue === 'dark' ? C.dark[6] : C[hue][6]);

/** What a badge sits on: the page, a striped or hovered row, a card. */
export const BADGE_SURFACES: Record<Scheme, string[]> = {
  light: ['#ffffff', C.gray[0], C.gray[1]],
  dark: [C.dark[7], C.dark[6], C.dark[5]],
};

const isHue = (c: unknown): c is BadgeHue => typeof c === 'string' && c in BADGE_TEXT.light;

export const theme = createTheme({
  primaryColor: 'blue',
  defaultRadius: 'sm',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  // Filled badges and buttons pick black or white text by their background's luminance.
  autoContrast: true,
  components: {
    // A `light` badge of a status hue takes its text from BADGE_TEXT, per scheme (the
    // --rw-badge-* variables below); its tint stays Mantine's.
    Badge: Badge.extend({
      vars: (_theme, props) =>
        props.variant === 'light' && isHue(props.color)
          ? { root: { '--badge-color': `var(--rw-badge-${props.color})` } }
          : { root: {} },
    }),
  },
});

/** MantineProvider's cssVariablesResolver: the badge text colours of each scheme. */
export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: Object.fromEntries(Object.entries(BADGE_TEXT.light).map(([h, c]) => [`--rw-badge-${h}`, c])),
  dark: Object.fromEntries(Object.entries(BADGE_TEXT.dark).map(([h, c]) => [`--rw-badge-${h}`, c])),
});
