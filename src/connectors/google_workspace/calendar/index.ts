/** Google Calendar as a product of the Google Workspace connector (settings: GOOGLE_CALENDAR_* in ../config.ts). */
import type { GoogleProductModule } from '../session';
import { CALENDAR_SCOPE } from './client';
import { CALENDAR_EVENT } from './entities';
import { CalendarProduct } from './product';

export const calendarProduct: GoogleProductModule = {
  name: 'calendar',
  entities: [CALENDAR_EVENT],
  scopes: [CALENDAR_SCOPE],
  create: (session) => new CalendarProduct(session),
};
