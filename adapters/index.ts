/**
 * The providers sightline can watch, in the order the config schema, `validate` and the daemon list
 * them. A new provider adds its folder under adapters/ and its registration here.
 */
import { cloudRun } from './cloudrun/registration.js';
import { ecs } from './ecs/registration.js';
import { lambda } from './lambda/registration.js';

export const providers = [cloudRun, ecs, lambda] as const;
