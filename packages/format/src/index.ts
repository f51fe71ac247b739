export const HELLO: number = 1;
